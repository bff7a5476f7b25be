"""GET /api/v2/routing/queues/{queueId}/estimatedwaittime: a wait estimate from the emulator's queue.

Shaped as the SDK's EstimatedWaitTimePredictions (`results` of PredictionResults). The estimate is
the conversation's place among the queue's waiting conversations times the configured handle
time (`EmulatorConfig.estimated_handle_seconds`); without one, or for a conversation not waiting
in that queue, Genesys has no estimate and the results are empty.
"""

from __future__ import annotations

from aiohttp import web

from .errors import error_response
from .keys import EMULATOR
from .state import WAITING

ESTIMATED_WAIT_PATH = "/api/v2/routing/queues/{queueId}/estimatedwaittime"


async def estimated_wait(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR]
    queue_id = request.match_info["queueId"]
    if emulator.config.queue(queue_id) is None:
        return error_response(request, 404, f"queue {queue_id} not found", code="not.found")
    conversation_id = request.query.get("conversationId")
    waiting = [c for c in emulator.conversations.in_state(WAITING) if c.queue_id == queue_id]
    ids = [c.id for c in waiting]
    handle = emulator.config.estimated_handle_seconds
    if handle is None or (conversation_id is not None and conversation_id not in ids):
        return web.json_response({"results": []})
    place = ids.index(conversation_id) + 1 if conversation_id is not None else len(ids) + 1
    return web.json_response({"results": [
        {"intent": "MESSAGE", "formula": "POSITION-IN-QUEUE", "estimatedWaitTimeSeconds": int(place * handle)}]})


def add_routes(app: web.Application) -> None:
    app.router.add_get(ESTIMATED_WAIT_PATH, estimated_wait)
