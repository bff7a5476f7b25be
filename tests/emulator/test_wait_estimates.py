"""The emulator's estimated wait, as the SDK's EstimatedWaitTimePredictions models it."""

from __future__ import annotations

from extension.genesys.client import estimated_wait

from .conftest import Api
from .sdk import deserialize

PATH = "/api/v2/routing/queues/{queue}/estimatedwaittime?conversationId={cid}"


async def _queued(api: Api, user: str) -> str:
    cid: str = (await api.inbound("hi", user=user, attributes={"queueId": "queue-support"}))["conversationId"]
    return cid


async def test_a_waiting_conversation_gets_its_place_times_the_handle_time(api: Api) -> None:
    first, second = await _queued(api, "user-1"), await _queued(api, "user-2")
    for cid, seconds in ((first, 90), (second, 180)):
        status, answer, _ = await api.call("GET", PATH.format(queue="queue-support", cid=cid))
        assert status == 200
        model = deserialize(answer, "EstimatedWaitTimePredictions")
        assert model["results"][0]["estimated_wait_time_seconds"] == seconds
        assert model["results"][0]["intent"] == "MESSAGE"
        assert estimated_wait(answer) == seconds
    await api.emulator.agent.accept(first, agent="Anna")
    _, answer, _ = await api.call("GET", PATH.format(queue="queue-support", cid=first))
    assert answer == {"results": []} and estimated_wait(answer) is None
    _, answer, _ = await api.call("GET", PATH.format(queue="queue-support", cid=second))
    assert estimated_wait(answer) == 90


async def test_an_unknown_queue_is_404_and_the_call_needs_a_token(api: Api) -> None:
    cid = await _queued(api, "user-1")
    status, answer, _ = await api.call("GET", PATH.format(queue="no-such-queue", cid=cid))
    assert status == 404 and answer["status"] == 404
    response = await api.client.get(PATH.format(queue="queue-support", cid=cid))
    assert response.status == 401


async def test_without_a_handle_time_there_is_no_estimate(api: Api) -> None:
    api.emulator.config.estimated_handle_seconds = None
    cid = await _queued(api, "user-1")
    _, answer, _ = await api.call("GET", PATH.format(queue="queue-support", cid=cid))
    assert deserialize(answer, "EstimatedWaitTimePredictions")["results"] == []


def test_the_client_reads_the_messaging_prediction_or_the_all_media_one() -> None:
    assert estimated_wait({"results": [{"intent": "CALL", "estimatedWaitTimeSeconds": 5},
                                       {"intent": "ALL", "estimatedWaitTimeSeconds": 40}]}) == 40
    assert estimated_wait({"results": [{"intent": "ALL", "estimatedWaitTimeSeconds": 40},
                                       {"intent": "MESSAGE", "estimatedWaitTimeSeconds": 70}]}) == 70
    for nothing in ({}, {"results": None}, {"results": [{"intent": "MESSAGE"}]},
                    {"results": [{"intent": "MESSAGE", "estimatedWaitTimeSeconds": "soon"}]},
                    {"results": [{"intent": "MESSAGE", "estimatedWaitTimeSeconds": -1}]}):
        assert estimated_wait(nothing) is None
