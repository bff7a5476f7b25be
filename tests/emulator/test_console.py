"""The agent's JSON routes under /emulator (what the agent console is built on)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from extension.genesys.outbound import parse_outbound
from extension.testing.emulator.rich_samples import SAMPLES

from .conftest import Api, FakeMiddleware
from .sdk import deserialize


async def _post(api: Api, path: str, body: Any = None) -> tuple[int, Any]:
    async with api.client.post(path, json=body) as response:
        return response.status, await response.json()


async def _get(api: Api, path: str) -> tuple[int, Any]:
    async with api.client.get(path) as response:
        return response.status, await response.json()


async def test_an_agent_session_over_http(api: Api, middleware: FakeMiddleware) -> None:
    cid = (await api.inbound("I need help", attributes={"sessionId": "s-1", "queue": "Billing"}))[
        "conversationId"
    ]
    status, listing = await _get(api, "/emulator/conversations?state=waiting")
    assert status == 200
    [item] = listing["conversations"]
    assert item["id"] == cid and item["queue"]["name"] == "Billing"
    assert item["customer"]["name"] == "Jane Doe" and item["lastMessage"] == "I need help"

    status, detail = await _post(api, f"/emulator/conversations/{cid}/accept", {"agent": "Anna"})
    assert status == 200 and detail["state"] == "active" and detail["agent"] == "Anna"
    assert detail["customAttributes"] == {"sessionId": "s-1", "queue": "Billing"}

    attachment = {"url": "https://f.example/x.png", "mime": "image/png", "filename": "x.png"}
    status, detail = await _post(
        api, f"/emulator/conversations/{cid}/reply",
        {"text": "Look", "attachments": [attachment], "quickReplies": ["OK"]},
    )  # fmt: skip
    assert status == 200
    assert (await middleware.next()).body["type"] == "Structured"
    status, _ = await _post(api, f"/emulator/conversations/{cid}/typing")
    assert status == 200
    assert (await middleware.next()).body["type"] == "Event"
    status, _ = await _post(api, f"/emulator/conversations/{cid}/flow-message", {"text": "Note"})
    assert (await middleware.next()).body["originatingEntity"] == "Bot"

    await api.emulator.settle()
    status, detail = await _get(api, f"/emulator/conversations/{cid}")
    assert status == 200
    transcript = [(e["sender"], e["text"]) for e in detail["transcript"]]
    assert transcript == [("customer", "I need help"), ("agent", "Look"), ("bot", "Note")]
    assert [e.get("delivery") for e in detail["transcript"][1:]] == ["delivered", "delivered"]
    assert {p["purpose"] for p in detail["participants"]} == {"customer", "acd", "agent"}

    status, detail = await _post(api, f"/emulator/conversations/{cid}/transfer", {"agent": "Bob"})
    assert status == 200 and detail["agent"] == "Bob"
    status, detail = await _post(api, f"/emulator/conversations/{cid}/end")
    assert status == 200 and detail["state"] == "ended"
    status, listing = await _get(api, "/emulator/conversations?state=ended")
    assert [c["id"] for c in listing["conversations"]] == [cid]


async def test_customer_end_over_http(api: Api) -> None:
    cid = (await api.inbound("hi"))["conversationId"]
    status, detail = await _post(api, f"/emulator/conversations/{cid}/customer-end")
    assert status == 200 and detail["state"] == "ended"
    assert api.emulator.published_events(f"v2.detail.events.conversation.{cid}.customer.end")


async def test_errors(api: Api) -> None:
    cid = (await api.inbound("hi"))["conversationId"]
    assert (await _post(api, "/emulator/conversations/nope/accept"))[0] == 404
    assert (await _get(api, "/emulator/conversations/nope"))[0] == 404
    status, body = await _post(api, f"/emulator/conversations/{cid}/reply", {"text": "early"})
    assert status == 409 and "agent" in body["error"]
    assert (await _post(api, f"/emulator/conversations/{cid}/transfer", {}))[0] == 400
    assert (await _post(api, f"/emulator/conversations/{cid}/flow-message", {}))[0] == 400
    await _post(api, f"/emulator/conversations/{cid}/accept")
    bad = {"attachments": [{"mime": "image/png"}]}
    assert (await _post(api, f"/emulator/conversations/{cid}/reply", bad))[0] == 400
    assert (await _post(api, f"/emulator/conversations/{cid}/reply", ["x"]))[0] == 400
    assert (await _get(api, "/emulator/conversations?state=bogus"))[0] == 400


async def test_inspection_routes(api: Api, middleware: FakeMiddleware) -> None:
    cid = (await api.inbound("hi"))["conversationId"]
    await api.emulator.agent.accept(cid)
    await api.emulator.agent.reply(cid, "hello")
    status, body = await _get(api, f"/emulator/webhooks?conversationId={cid}")
    [webhook] = body["webhooks"]
    assert webhook["outcome"] == "delivered" and webhook["body"]["text"] == "hello"
    assert webhook["attempts"][0]["status"] == 200
    status, body = await _get(api, "/emulator/notifications")
    assert [e["topicName"].rsplit(".", 2)[-2:] for e in body["events"]] == [["user", "start"]]
    status, body = await _get(api, "/emulator")
    assert body["active"] == 1 and "/emulator/conversations/{id}/reply" in body["routes"]


async def test_integrations_can_be_misconfigured_over_http(api: Api) -> None:
    async with api.client.patch(
        "/emulator/integrations/integration-1", json={"name": "Typo", "flowId": None}
    ) as response:
        assert response.status == 200
        assert (await response.json())["flowId"] is None
    assert api.emulator.integration.name == "Typo" and not api.emulator.integration.linked
    async with api.client.patch("/emulator/integrations/nope", json={"name": "x"}) as response:
        assert response.status == 404
    async with api.client.patch(
        "/emulator/integrations/integration-1", json={"colour": "red"}
    ) as response:
        assert response.status == 400
    status, body = await _get(api, "/emulator/integrations")
    assert body["integrations"][0]["name"] == "Typo"


async def test_the_console_sends_each_rich_content_type_as_genesys_models_it(
        api: Api, middleware: FakeMiddleware) -> None:
    cid = (await api.inbound("I need help"))["conversationId"]
    await _post(api, f"/emulator/conversations/{cid}/accept", {"agent": "Anna"})
    for kind, sample in SAMPLES.items():
        status, _ = await _post(api, f"/emulator/conversations/{cid}/content", {"kind": kind})
        assert status == 200, kind
        body = (await middleware.next()).body
        assert body["type"] == "Structured"
        [sent] = body["content"]
        if kind == "card":
            # The card's image is the emulator's sample image, served without a token.
            image = urlsplit(sent["card"].pop("image"))
            async with api.client.get(image.path) as response:
                assert (response.status, response.content_type) == (200, "image/png")
                assert (await response.read()).startswith(b"\x89PNG")
        assert sent == sample
        assert deserialize(sample, "ConversationMessageContent")["content_type"] == sample["contentType"]
        # What the runtime makes of it: a rich part for the user and a text for plain clients.
        rich = parse_outbound(body).rich
        assert rich.data and rich.fallback and not rich.unknown, kind
    status, body = await _post(api, f"/emulator/conversations/{cid}/content", {"kind": "hologram"})
    assert status == 400 and "kind must be one of" in body["error"]


async def test_the_console_sends_a_file_the_emulator_hosts_behind_its_download_api(
        api: Api, middleware: FakeMiddleware) -> None:
    cid = (await api.inbound("I need help"))["conversationId"]
    await _post(api, f"/emulator/conversations/{cid}/accept", {"agent": "Anna"})
    status, _ = await _post(api, f"/emulator/conversations/{cid}/file", {"kind": "image"})
    assert status == 200
    [attachment] = parse_outbound((await middleware.next()).body).attachments
    assert attachment.mime == "image/png" and "/api/v2/downloads/" in attachment.url
    path = attachment.url.split("//", 1)[1].split("/", 1)[1]
    # Like Genesys: the download needs a token, then redirects to a signed URL with the bytes.
    async with api.client.get("/" + path, allow_redirects=False) as response:
        assert response.status == 401
    async with api.client.get("/" + path, headers={"Authorization": f"Bearer {await api.token()}"},
                              allow_redirects=False) as response:
        assert response.status == 303
        location = response.headers["Location"]
    async with api.client.get(location.split("//", 1)[1].split("/", 1)[1].join(["/", ""])) as response:
        assert response.status == 200 and (await response.read()).startswith(b"\x89PNG")
    assert (await _post(api, f"/emulator/conversations/{cid}/file", {"kind": "exe"}))[0] == 400
