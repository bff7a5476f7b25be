"""Discovery: integrations (paged, no name filter), queues (loose name match), recipients."""

from __future__ import annotations

import pytest

from extension.testing.emulator import IntegrationConfig, QueueConfig

from .conftest import Api

INTEGRATIONS = "/api/v2/conversations/messaging/integrations/open"


async def test_integrations_are_paged_with_genesys_envelope(api: Api) -> None:
    for n in range(4):
        api.emulator.add_integration(IntegrationConfig(id=f"extra-{n}", name=f"Other {n}"))
    pages = []
    for number in (1, 2, 3):
        status, body, _ = await api.call("GET", f"{INTEGRATIONS}?pageSize=2&pageNumber={number}")
        assert status == 200
        assert (body["pageSize"], body["pageNumber"], body["total"], body["pageCount"]) == (
            2, number, 5, 3,
        )  # fmt: skip
        pages.append(body)
    assert [len(p["entities"]) for p in pages] == [2, 2, 1]
    assert "nextUri" in pages[0] and "nextUri" not in pages[2]
    assert "previousUri" in pages[1] and "previousUri" not in pages[0]
    names = [e["name"] for p in pages for e in p["entities"]]
    assert names == ["BotHandover", "Other 0", "Other 1", "Other 2", "Other 3"]


async def test_integration_fields_and_no_secret(api: Api) -> None:
    status, body, _ = await api.call("GET", f"{INTEGRATIONS}?pageSize=100")
    assert status == 200
    entity = body["entities"][0]
    assert entity["id"] == "integration-1"
    assert entity["outboundNotificationWebhookUrl"] == api.emulator.integration.webhook_url
    assert entity["createStatus"] == "Completed"
    assert entity["recipient"]["id"] == "integration-1"
    assert "secret" not in str(body).lower()


async def test_a_page_past_the_end_is_empty(api: Api) -> None:
    status, body, _ = await api.call("GET", f"{INTEGRATIONS}?pageSize=100&pageNumber=5")
    assert status == 200
    assert body["entities"] == [] and body["total"] == 1


@pytest.mark.parametrize("query", ["pageSize=0", "pageSize=abc", "pageNumber=0"])
async def test_bad_paging_is_400(api: Api, query: str) -> None:
    status, body, _ = await api.call("GET", f"{INTEGRATIONS}?{query}")
    assert status == 400
    assert body["code"] == "invalid.value"


async def test_run_time_changes_show_in_discovery(api: Api) -> None:
    api.emulator.update_integration(
        "integration-1", name="BotHandovr", create_status="Initiated", webhook_url="https://x/y"
    )
    _, body, _ = await api.call("GET", INTEGRATIONS)
    entity = body["entities"][0]
    assert (entity["name"], entity["createStatus"], entity["outboundNotificationWebhookUrl"]) == (
        "BotHandovr", "Initiated", "https://x/y",
    )  # fmt: skip
    with pytest.raises(ValueError):
        api.emulator.update_integration("integration-1", create_status="Done")
    with pytest.raises(KeyError):
        api.emulator.update_integration("nope", name="x")


async def test_queue_names_match_as_case_insensitive_prefix(api: Api) -> None:
    api.emulator.add_queue(QueueConfig(id="queue-support-2", name="Support Tier 2"))
    _, body, _ = await api.call("GET", "/api/v2/routing/queues?name=support&pageSize=100")
    names = sorted(e["name"] for e in body["entities"])
    # Genesys does not match exactly: a caller must re-check the name itself.
    assert names == ["Support", "Support Tier 2"]
    assert body["entities"][0]["division"]["id"]
    _, body, _ = await api.call("GET", "/api/v2/routing/queues?name=Bill*")
    assert [e["id"] for e in body["entities"]] == ["queue-billing"]
    _, body, _ = await api.call("GET", "/api/v2/routing/queues?name=Sales")
    assert body["entities"] == [] and body["total"] == 0
    _, body, _ = await api.call("GET", "/api/v2/routing/queues")
    assert body["total"] == 3


async def test_a_removed_queue_is_not_found(api: Api) -> None:
    api.emulator.remove_queue("queue-billing")
    _, body, _ = await api.call("GET", "/api/v2/routing/queues?name=Billing")
    assert body["entities"] == []


async def test_recipient_names_its_flow_only_when_linked(api: Api) -> None:
    status, body, _ = await api.call("GET", "/api/v2/routing/message/recipients/integration-1")
    assert status == 200
    assert body["id"] == "integration-1" and body["flow"]["id"]
    api.emulator.update_integration("integration-1", flow_id=None)
    status, body, _ = await api.call("GET", "/api/v2/routing/message/recipients/integration-1")
    assert status == 200 and "flow" not in body


async def test_unknown_recipient_and_integration_are_404(api: Api) -> None:
    status, body, _ = await api.call("GET", "/api/v2/routing/message/recipients/nope")
    assert status == 404 and body["code"] == "not.found"
    status, body, _ = await api.call("GET", f"{INTEGRATIONS}/nope")
    assert status == 404 and body["code"] == "not.found"
    status, body, _ = await api.call("GET", f"{INTEGRATIONS}/integration-1")
    assert status == 200 and body["name"] == "BotHandover"
