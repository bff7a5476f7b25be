"""The emulator can refuse the customer disconnect, as an organisation might, with a Genesys error."""

from __future__ import annotations

import pytest

from .conftest import Api


@pytest.mark.parametrize(("status", "code"), [(400, "bad.request"), (403, "not.authorized"),
                                              (405, "method.not.allowed"), (409, "conflict"),
                                              (422, "invalid.value")])
async def test_a_refused_customer_disconnect_is_a_genesys_error(api: Api, status: int, code: str) -> None:
    api.emulator.config.refuse_customer_disconnect = status
    cid = (await api.inbound("I need help"))["conversationId"]
    customer = api.emulator.agent.get(cid).customer

    answer_status, body, headers = await api.call(
        "PATCH", f"/api/v2/conversations/messages/{cid}/participants/{customer.id}", {"state": "disconnected"})

    assert answer_status == status
    assert set(body) >= {"message", "code", "status", "messageWithParams", "contextId", "details", "errors"}
    assert (body["status"], body["code"]) == (status, code) and body["message"]
    assert body["contextId"] == headers["ININ-Correlation-Id"] == headers["Genesys-Correlation-Id"]
    assert customer.state == "connected" and api.emulator.agent.get(cid).state == "waiting"


async def test_an_agent_can_still_be_disconnected(api: Api) -> None:
    api.emulator.config.refuse_customer_disconnect = 403
    cid = (await api.inbound("I need help"))["conversationId"]
    agent = await api.emulator.agent.accept(cid, "Anna")
    status, _, _ = await api.call(
        "PATCH", f"/api/v2/conversations/messages/{cid}/participants/{agent.id}", {"state": "disconnected"})
    assert status == 202 and api.emulator.agent.get(cid).state == "ended"
