"""Every API call of GenesysClient, checked on the wire with aioresponses."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses

from extension.genesys import (
    GenesysAuthError,
    GenesysBadResponse,
    GenesysClient,
    GenesysLookupError,
    GenesysUnavailable,
    Integration,
    NotificationChannel,
    RetryPolicy,
    TopicRejection,
)

from .conftest import API, CLIENT_ID, CLIENT_SECRET, REGION, TOKEN, TOKEN_URL, calls, grant_token

BEARER = f"Bearer {TOKEN}"
INTEGRATIONS = f"{API}/api/v2/conversations/messaging/integrations/open"
QUEUES = f"{API}/api/v2/routing/queues"
INBOUND = f"{API}/api/v2/conversations/messages/int-1/inbound/open"
CONVERSATION = f"{API}/api/v2/conversations/messages/conv-1"


def integration(n: int, name: str) -> dict[str, Any]:
    return {"id": f"int-{n}", "name": name, "outboundNotificationWebhookUrl": f"https://h/{n}",
            "status": "Active", "createStatus": "Completed", "recipient": {"id": f"rec-{n}"}}


def page_url(base: str, number: int, **extra: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {**extra, "pageSize": "100",
                                               "pageNumber": str(number)}.items())
    return f"{base}?{query}"


def only_call(mocked: aioresponses, method: str, url: str) -> dict[str, Any]:
    [sent] = calls(mocked, method, url)
    assert sent["headers"]["Authorization"] == BEARER  # type: ignore[index]
    return sent


async def test_list_integrations_reads_every_page(
    mocked: aioresponses, client: GenesysClient
) -> None:
    grant_token(mocked)
    mocked.get(page_url(INTEGRATIONS, 1), payload={
        "entities": [integration(1, "Alpha"), integration(2, "Beta")],
        "pageNumber": 1, "pageCount": 3, "total": 5})
    mocked.get(page_url(INTEGRATIONS, 2), payload={
        "entities": [integration(3, "Gamma"), integration(4, "Delta")],
        "pageNumber": 2, "pageCount": 3, "total": 5})
    mocked.get(page_url(INTEGRATIONS, 3), payload={
        "entities": [integration(5, "Epsilon")], "pageNumber": 3, "pageCount": 3, "total": 5})

    found = await client.list_integrations()

    assert [i.name for i in found] == ["Alpha", "Beta", "Gamma", "Delta", "Epsilon"]
    assert found[0] == Integration("int-1", "Alpha", "https://h/1", "Active", "Completed",
                                   "rec-1")
    for number in (1, 2, 3):
        only_call(mocked, "GET", page_url(INTEGRATIONS, number))


async def test_list_integrations_stops_without_a_page_count(
    mocked: aioresponses, client: GenesysClient
) -> None:
    grant_token(mocked)
    mocked.get(page_url(INTEGRATIONS, 1), payload={"entities": [integration(1, "Alpha")]})
    assert [i.id for i in await client.list_integrations()] == ["int-1"]


async def test_a_listing_without_entities_is_a_bad_response(
    mocked: aioresponses, client: GenesysClient
) -> None:
    grant_token(mocked)
    mocked.get(page_url(INTEGRATIONS, 1), payload={"items": []})
    with pytest.raises(GenesysBadResponse):
        await client.list_integrations()


async def test_find_integration_matches_the_exact_name_and_caches_it(
    mocked: aioresponses, client: GenesysClient
) -> None:
    grant_token(mocked)
    mocked.get(page_url(INTEGRATIONS, 1), payload={
        "entities": [integration(1, "support bot"), integration(2, "Support Bot 2"),
                     integration(3, "Support Bot")], "pageCount": 1})

    assert (await client.find_integration("Support Bot")).id == "int-3"
    assert (await client.find_integration("Support Bot")).id == "int-3"
    assert len(calls(mocked, "GET", page_url(INTEGRATIONS, 1))) == 1


async def test_find_integration_names_the_closest_existing_ones(
    mocked: aioresponses, client: GenesysClient
) -> None:
    grant_token(mocked)
    mocked.get(page_url(INTEGRATIONS, 1), payload={
        "entities": [integration(1, "Billing"), integration(2, "Support Bot EU"),
                     integration(3, "support-bot")], "pageCount": 1})

    with pytest.raises(GenesysLookupError) as caught:
        await client.find_integration("Support Bot")

    error = caught.value
    assert (error.kind, error.name) == ("integration", "Support Bot")
    assert error.available == ("support-bot", "Support Bot EU", "Billing")
    assert "'support-bot'" in str(error) and "Support Bot" in str(error)


async def test_find_queue_rechecks_the_exact_name_and_caches_it(
    mocked: aioresponses, client: GenesysClient
) -> None:
    grant_token(mocked)
    url = f"{QUEUES}?name=Support&pageSize=100"
    mocked.get(url, payload={"entities": [{"id": "q-2", "name": "Support Tier 2"},
                                          {"id": "q-1", "name": "Support"}]})

    queue = await client.find_queue("Support")
    assert (queue.id, queue.name) == ("q-1", "Support")
    assert (await client.find_queue("Support")).id == "q-1"
    only_call(mocked, "GET", url)


async def test_find_queue_lists_all_queues_to_suggest_names(
    mocked: aioresponses, client: GenesysClient
) -> None:
    grant_token(mocked)
    mocked.get(f"{QUEUES}?name=Suport&pageSize=100", payload={"entities": []})
    mocked.get(page_url(QUEUES, 1), payload={
        "entities": [{"id": "q-1", "name": "Sales"}, {"id": "q-2", "name": "Support"}],
        "pageCount": 2})
    mocked.get(page_url(QUEUES, 2), payload={
        "entities": [{"id": "q-3", "name": "Suport Old"}], "pageCount": 2})

    with pytest.raises(GenesysLookupError) as caught:
        await client.find_queue("Suport")
    assert caught.value.kind == "queue"
    assert caught.value.available == ("Support", "Suport Old", "Sales")


async def test_get_message_recipient(mocked: aioresponses, client: GenesysClient) -> None:
    grant_token(mocked)
    url = f"{API}/api/v2/routing/message/recipients/rec-1"
    mocked.get(url, payload={"id": "rec-1", "flow": {"id": "flow-1", "name": "Inbound"}})
    assert (await client.get_message_recipient("rec-1"))["flow"]["id"] == "flow-1"
    only_call(mocked, "GET", url)


async def test_send_inbound_message_asks_for_the_conversation_id(
    mocked: aioresponses, client: GenesysClient
) -> None:
    grant_token(mocked)
    url = f"{INBOUND}/message?prefetchConversationId=true"
    mocked.post(url, payload={"id": "g-1", "type": "Text", "conversationId": "conv-1"})
    body = {"channel": {"messageId": "m-1"}, "text": "hello"}

    answer = await client.send_inbound_message("int-1", body)

    assert answer["conversationId"] == "conv-1"
    assert only_call(mocked, "POST", url)["json"] == body


async def test_send_inbound_message_without_prefetch(
    mocked: aioresponses, client: GenesysClient
) -> None:
    grant_token(mocked)
    mocked.post(f"{INBOUND}/message", payload={"id": "g-1"})
    await client.send_inbound_message("int-1", {"text": "x"}, prefetch_conversation_id=False)
    only_call(mocked, "POST", f"{INBOUND}/message")


@pytest.mark.parametrize("kind", ["event", "receipt"])
async def test_send_inbound_event_and_receipt(
    mocked: aioresponses, client: GenesysClient, kind: str
) -> None:
    grant_token(mocked)
    mocked.post(f"{INBOUND}/{kind}", payload={"id": "g-2"})
    body = {"channel": {"time": "2026-01-15T10:00:00.000Z"}}
    if kind == "event":
        assert await client.send_inbound_event("int-1", body) == {"id": "g-2"}
        assert only_call(mocked, "POST", f"{INBOUND}/{kind}")["json"] == body
    else:
        # A receipt's answer is not read beyond its status; its body goes out encoded once.
        assert await client.send_inbound_receipt("int-1", body) is None
        assert json.loads(only_call(mocked, "POST", f"{INBOUND}/{kind}")["data"]) == body  # type: ignore[arg-type]


async def test_ids_are_quoted_into_one_path_segment(
    mocked: aioresponses, client: GenesysClient
) -> None:
    grant_token(mocked)
    url = f"{API}/api/v2/conversations/messages/..%2Fnotifications%2Fchannels"
    mocked.get(url, payload={"id": "x"})
    await client.get_message_conversation("../notifications/channels")
    only_call(mocked, "GET", url)


def conversation(customer_state: str, *, second_customer: bool = False) -> dict[str, Any]:
    participants = [
        {"id": "p-acd", "purpose": "acd", "state": "disconnected"},
        {"id": "p-agent", "purpose": "agent", "state": "connected"},
        {"id": "p-cust", "purpose": "customer", "state": customer_state},
    ]
    if second_customer:
        participants.append({"id": "p-cust-old", "purpose": "customer", "state": "disconnected"})
    return {"id": "conv-1", "participants": participants}


async def test_disconnect_customer_patches_only_the_connected_customer(
    mocked: aioresponses, client: GenesysClient
) -> None:
    grant_token(mocked)
    mocked.get(CONVERSATION, payload=conversation("connected", second_customer=True))
    mocked.patch(f"{CONVERSATION}/participants/p-cust", status=202, body="")

    assert await client.disconnect_customer("conv-1") is True

    assert only_call(mocked, "PATCH", f"{CONVERSATION}/participants/p-cust")["json"] == {
        "state": "disconnected"}
    assert calls(mocked, "PATCH", f"{CONVERSATION}/participants/p-cust-old") == []
    assert calls(mocked, "PATCH", f"{CONVERSATION}/participants/p-agent") == []


async def test_disconnect_customer_is_a_no_op_when_already_disconnected(
    mocked: aioresponses, client: GenesysClient
) -> None:
    grant_token(mocked)
    mocked.get(CONVERSATION, payload=conversation("disconnected"))

    assert await client.disconnect_customer("conv-1") is False
    assert calls(mocked, "PATCH", f"{CONVERSATION}/participants/p-cust") == []


async def test_get_message_conversation(mocked: aioresponses, client: GenesysClient) -> None:
    grant_token(mocked)
    mocked.get(CONVERSATION, payload=conversation("connected"))
    answer = await client.get_message_conversation("conv-1")
    assert [p["purpose"] for p in answer["participants"]] == ["acd", "agent", "customer"]
    only_call(mocked, "GET", CONVERSATION)


async def test_create_notification_channel(mocked: aioresponses, client: GenesysClient) -> None:
    grant_token(mocked)
    url = f"{API}/api/v2/notifications/channels"
    mocked.post(url, payload={"id": "ch-1", "connectUri": "wss://streaming/ch-1",
                              "expires": "2026-01-16T10:00:00Z"})
    assert await client.create_notification_channel() == NotificationChannel(
        "ch-1", "wss://streaming/ch-1", "2026-01-16T10:00:00Z")
    only_call(mocked, "POST", url)


@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_subscriptions_are_added_or_replaced(
    mocked: aioresponses, client: GenesysClient, method: str
) -> None:
    grant_token(mocked)
    url = f"{API}/api/v2/notifications/channels/ch-1/subscriptions?ignoreErrors=true"
    topics = ["v2.detail.events.conversation.c1.user.end", "v2.detail.events.conversation.c1.acw"]
    mocked.add(url, method=method, payload={"entities": [
        {"id": topics[0], "state": "Permitted"},
        {"id": topics[1], "state": "Rejected", "rejectionReason": "Missing permissions",
         "missingPermissions": ["analytics:conversationDetail:view"]}]})
    change = client.add_subscriptions if method == "POST" else client.replace_subscriptions

    rejected = await change("ch-1", iter(topics))

    assert rejected == [TopicRejection(topics[1], ("analytics:conversationDetail:view",), "Missing permissions")]
    assert only_call(mocked, method, url)["json"] == [{"id": t} for t in topics]


async def test_every_subscription_of_a_channel_can_be_removed(mocked: aioresponses, client: GenesysClient) -> None:
    grant_token(mocked)
    url = f"{API}/api/v2/notifications/channels/ch-1/subscriptions"
    mocked.delete(url, status=204)
    await client.remove_subscriptions("ch-1")
    only_call(mocked, "DELETE", url)


async def test_a_401_refreshes_the_token_once_and_retries(
    mocked: aioresponses, client: GenesysClient
) -> None:
    grant_token(mocked, token="stale")
    grant_token(mocked, token="fresh")
    mocked.get(CONVERSATION, status=401, payload={"code": "credentials.expired"})
    mocked.get(CONVERSATION, payload={"id": "conv-1"})

    assert await client.get_message_conversation("conv-1") == {"id": "conv-1"}

    sent = calls(mocked, "GET", CONVERSATION)
    assert [c["headers"]["Authorization"] for c in sent] == [  # type: ignore[index]
        "Bearer stale", "Bearer fresh"]
    assert client.tokens.requests_made == 2


async def test_a_second_401_surfaces(mocked: aioresponses, client: GenesysClient) -> None:
    grant_token(mocked, token="stale")
    grant_token(mocked, token="fresh")
    mocked.get(CONVERSATION, status=401, payload={"code": "bad.credentials"}, repeat=True)

    with pytest.raises(GenesysAuthError) as caught:
        await client.get_message_conversation("conv-1")

    assert (caught.value.status, caught.value.code) == (401, "bad.credentials")
    assert len(calls(mocked, "GET", CONVERSATION)) == 2
    assert client.tokens.requests_made == 2


async def test_a_token_failure_is_not_retried_by_the_api_call(
    mocked: aioresponses, client: GenesysClient
) -> None:
    mocked.post(TOKEN_URL, status=401, payload={"error": "invalid_client"}, repeat=True)
    with pytest.raises(GenesysAuthError) as caught:
        await client.get_message_conversation("conv-1")
    assert caught.value.likely_cause == "credentials"
    assert client.tokens.requests_made == 1
    assert calls(mocked, "GET", CONVERSATION) == []


async def test_a_non_json_success_is_a_bad_response(
    mocked: aioresponses, client: GenesysClient
) -> None:
    grant_token(mocked)
    mocked.get(CONVERSATION, body="<html>proxy</html>", content_type="text/html")
    with pytest.raises(GenesysBadResponse):
        await client.get_message_conversation("conv-1")


async def test_on_response_reports_every_exchange(
    mocked: aioresponses, session: aiohttp.ClientSession, policy: RetryPolicy
) -> None:
    seen: list[tuple[str, str, int]] = []
    durations: list[float] = []

    def record(method: str, template: str, status: int, seconds: float) -> None:
        seen.append((method, template, status))
        durations.append(seconds)

    client = GenesysClient(session, REGION, CLIENT_ID, CLIENT_SECRET, retry=policy,
                           on_response=record)
    grant_token(mocked)
    mocked.get(CONVERSATION, status=503, payload={})
    mocked.get(CONVERSATION, payload={"id": "conv-1"})

    await client.get_message_conversation("conv-1")

    template = "/api/v2/conversations/messages/{conversation_id}"
    assert seen == [("POST", "/oauth/token", 200), ("GET", template, 503), ("GET", template, 200)]
    assert all(d >= 0 for d in durations)


async def test_a_failing_metrics_hook_does_not_break_the_call(
    mocked: aioresponses, session: aiohttp.ClientSession, policy: RetryPolicy
) -> None:
    def broken(method: str, template: str, status: int, seconds: float) -> None:
        raise RuntimeError("metrics down")

    client = GenesysClient(session, REGION, CLIENT_ID, CLIENT_SECRET, retry=policy,
                           on_response=broken)
    grant_token(mocked)
    mocked.get(CONVERSATION, payload={"id": "conv-1"})
    assert await client.get_message_conversation("conv-1") == {"id": "conv-1"}


def test_repr_shows_the_api_base_only() -> None:
    client = GenesysClient(None, REGION, CLIENT_ID, CLIENT_SECRET)  # type: ignore[arg-type]
    assert repr(client) == "GenesysClient(api_base='https://api.mypurecloud.de')"
    assert CLIENT_SECRET not in repr(client.tokens)


async def test_an_unreachable_login_host_keeps_its_cause(
    mocked: aioresponses, client: GenesysClient
) -> None:
    mocked.post(TOKEN_URL, exception=aiohttp.ClientConnectionError("no route"), repeat=True)
    with pytest.raises(GenesysAuthError) as caught:
        await client.get_message_conversation("conv-1")
    assert caught.value.likely_cause == "network"
    assert isinstance(caught.value.__cause__, GenesysUnavailable)
