"""What a user-message send makes of Genesys' answer, and when it stops retrying."""

from __future__ import annotations

import pytest
from aioresponses import aioresponses

from extension.genesys import CallAbandoned, GenesysBadResponse, GenesysClient

from .conftest import API, calls, grant_token

INBOUND = f"{API}/api/v2/conversations/messages/int-1/inbound/open/message"
BODY = {"channel": {"messageId": "m-1", "from": {"id": "h-1", "idType": "Opaque"}, "time": "2026-01-15T10:00:00Z"},
        "text": "hi"}


async def test_a_garbled_answer_after_accepting_is_not_a_failure(client: GenesysClient, mocked: aioresponses) -> None:
    """Finding 15: Genesys took the message (2xx) but its body is garbled: the send succeeded."""
    grant_token(mocked)
    for url in (INBOUND, f"{INBOUND}?prefetchConversationId=true"):
        mocked.post(url, status=200, body=b"{not json", content_type="application/json")
    assert await client.send_inbound_message("int-1", BODY, prefetch_conversation_id=False) == {}
    # The first message of a handover needs the conversation id: there a garbled answer is an error.
    with pytest.raises(GenesysBadResponse):
        await client.send_inbound_message("int-1", BODY, prefetch_conversation_id=True)


async def test_a_send_no_longer_wanted_stops_between_tries(client: GenesysClient, mocked: aioresponses) -> None:
    """Finding 2: a send whose handover ended stops retrying instead of landing in a new conversation."""
    asked = 0

    async def proceed() -> bool:
        nonlocal asked
        asked += 1
        return False

    grant_token(mocked)
    mocked.post(INBOUND, status=503, payload={"code": "service.unavailable"}, repeat=True)
    with pytest.raises(CallAbandoned):
        await client.send_inbound_message("int-1", BODY, prefetch_conversation_id=False, proceed=proceed)
    assert asked == 1
    assert len(calls(mocked, "POST", INBOUND)) == 1
