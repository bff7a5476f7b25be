"""One Genesys call, one locked turn of the bot session: run the flow once, answer the same for a retry.

The session is (urlToken, genesysConversationId, botSessionId). The answers of its last
ANSWERS_KEPT messages are stored with the turn that made them, so a retried `messageId` reaching
any replica gets the same answer and runs nothing. A Failed answer (a node error, the deadline)
stores nothing of its turn, which is cancelled or raised out of before its commit; it is kept in a
short turn of its own afterwards, so that its retry is answered alike. A completion (completeBotSession, or
handoverToAgent on this endpoint) ends the bot session: the flow starts again from its first node
if Genesys ever sends that session another message.
"""

from __future__ import annotations

import logging
from typing import Any

from ...flows.engine import Endpoint, FlowRuntimeError
from ...flows.session import Session, SessionKey
from ...metrics import Metrics
from ...sessions import Sessions
from .messages import BotTurn, complete, failed, more_data, reply_messages
from .settings import BotConnectorSettings

log = logging.getLogger("extension.providers.genesys_bot_connector")

# The session context key of the endpoint's own records; COMPLETION is what a node sets.
STATE = "_botConnector"
COMPLETION = "_botConnectorCompletion"
ANSWERS_KEPT = 20
# The turn that keeps a Failed answer is short: Genesys is still waiting (30 s in all), so it gets
# at most 2 s, less when the deadline leaves less, and never under half a second.
KEEP_FAILED_SECONDS = 2.0
GENESYS_WAITS_SECONDS = 30.0


class BotTurns:
    """Answers the Bot Connector calls of the endpoints of this type."""

    def __init__(self, sessions: Sessions, metrics: Metrics) -> None:
        self.sessions = sessions
        self.metrics = metrics

    async def answer(self, endpoint: Endpoint, bot: BotConnectorSettings, call: BotTurn) -> dict[str, Any]:
        """The answer to one call; a flow that fails or outlasts the deadline answers Failed."""
        self.sessions.limits.check(call.text, call.data())
        key = SessionKey(endpoint.url_token, call.conversation_id, call.bot_session_id)
        try:
            # On the runtime's clock, as every timer of a provider is.
            answer, outcome = await self.sessions.clock.wait_for(self._turn(endpoint, key, call), bot.deadline_seconds)
        except TimeoutError:
            # The turn was cancelled inside its `sessions.turn`, which then stores nothing.
            log.warning("bot session of endpoint %s: the flow did not answer within %g s", endpoint.url_token,
                        bot.deadline_seconds)
            answer, outcome = await self._keep_failed(endpoint, bot, key, call, failed(
                "Timeout", f"the bot did not answer within {bot.deadline_seconds:g} s"))
        except FlowRuntimeError as exc:
            log.error("bot session of endpoint %s: %s", endpoint.url_token, exc)
            answer, outcome = await self._keep_failed(endpoint, bot, key, call, failed("FlowFailed", str(exc)))
        self.metrics.user_inputs.inc(endpoint=endpoint.url_token, outcome=outcome)
        return answer

    async def _keep_failed(self, endpoint: Endpoint, bot: BotConnectorSettings, key: SessionKey, call: BotTurn,
                           answer: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """Store a Failed answer under its messageId, in a short turn of its own, so that a retry gets
        it without running the flow again. A messageId answered meanwhile keeps its stored answer;
        when the store cannot take it in time, the Failed answer goes out unkept (and is logged)."""
        async def keep() -> tuple[dict[str, Any], str]:
            async with self.sessions.turn(endpoint, key) as turn:
                state = _state(turn.session)
                answers = _answers(state)
                if call.message_id in answers:
                    turn.discard()
                    return dict(answers[call.message_id]), "repeat"
                _keep(state, call.message_id, answer)
                turn.session.context[STATE] = state
            return answer, "failed"

        budget = max(0.5, min(KEEP_FAILED_SECONDS, GENESYS_WAITS_SECONDS - 0.5 - bot.deadline_seconds))
        try:
            return await self.sessions.clock.wait_for(keep(), budget)
        except Exception as exc:  # the store is down or the session is held: answer anyway
            log.warning("bot session of endpoint %s: the Failed answer of a message was not kept (%s); a retry "
                        "of it runs the flow again", endpoint.url_token, type(exc).__name__)
        return answer, "failed"

    async def _turn(self, endpoint: Endpoint, key: SessionKey, call: BotTurn) -> tuple[dict[str, Any], str]:
        async with self.sessions.turn(endpoint, key) as turn:
            session = turn.session
            state = _state(session)
            answers = _answers(state)
            if call.message_id in answers:
                turn.discard()
                return dict(answers[call.message_id]), "repeat"
            if state.get("completed") or _timed_out(session, call, self.sessions.clock.time()):
                _start_over(session)
            session.record("user", call.text)
            await self.sessions.apply_input(turn, call.text, call.data())
            replies = reply_messages(turn.events)
            completion = session.context.pop(COMPLETION, None)
            if isinstance(completion, dict):
                answer = complete(replies, str(completion["intent"]), completion.get("parameters") or {})
                session.pointer = None
                state["completed"] = True
            else:
                answer = more_data(replies)
                state["completed"] = False
            _keep(state, call.message_id, answer)
            session.context[STATE] = state
        return answer, "complete" if isinstance(completion, dict) else "flow"


def _state(session: Session) -> dict[str, Any]:
    found = session.context.get(STATE)
    return found if isinstance(found, dict) else {}


def _answers(state: dict[str, Any]) -> dict[str, Any]:
    kept = state.get("answers")
    return kept if isinstance(kept, dict) else {}


def _keep(state: dict[str, Any], message_id: str, answer: dict[str, Any]) -> None:
    """The answer under its messageId, with the session's last ANSWERS_KEPT answers."""
    kept = {**_answers(state), message_id: answer}
    state["answers"] = dict(list(kept.items())[-ANSWERS_KEPT:])


def _timed_out(session: Session, call: BotTurn, now: float) -> bool:
    """Genesys' `botSessionTimeout` (minutes) passed by wall time `now` since the session's last message."""
    if call.session_timeout_minutes is None or not session.transcript:
        return False
    return now - session.updated > call.session_timeout_minutes * 60


def _start_over(session: Session) -> None:
    """Forget the ended or timed-out bot session (its answers stay, for retries)."""
    state = session.context.get(STATE)
    session.pointer = None
    session.handover = None
    session.transcript = []
    session.profile = {}
    session.context = {STATE: state} if isinstance(state, dict) else {}
