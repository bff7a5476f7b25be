"""The Genesys Cloud API calls a handover makes, over an injected aiohttp session."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

import aiohttp

from .downloads import Download, is_download_url, open_download
from .errors import (
    CallAbandoned,
    GenesysAuthError,
    GenesysBadResponse,
    GenesysError,
    GenesysLookupError,
    GenesysRateLimited,
)
from .regions import Region
from .resources import Integration, NotificationChannel, Queue, TopicRejection, entities, rejected_topics
from .retry import RateGate, RetryPolicy
from .tokens import TokenProvider
from .transport import ResponseHook, exchange

log = logging.getLogger("extension.genesys")

INTEGRATIONS = "/api/v2/conversations/messaging/integrations/open"
INTEGRATION = INTEGRATIONS + "/{integration_id}"
QUEUES = "/api/v2/routing/queues"
RECIPIENT = "/api/v2/routing/message/recipients/{recipient_id}"
ESTIMATED_WAIT = "/api/v2/routing/queues/{queue_id}/estimatedwaittime"
BOT_LIST = "/api/v2/integrations/botconnector/{integration_id}/bots"
INBOUND = "/api/v2/conversations/messages/{integration_id}/inbound/open/{kind}"
STRUCTURED_RESPONSE = "/api/v2/conversations/messages/{integration_id}/inbound/open/structured/response"
CONVERSATION = "/api/v2/conversations/messages/{conversation_id}"
PARTICIPANT = "/api/v2/conversations/messages/{conversation_id}/participants/{participant_id}"
CHANNELS = "/api/v2/notifications/channels"
SUBSCRIPTIONS = "/api/v2/notifications/channels/{channel_id}/subscriptions"

# Asked before each retry of a call that may stop being wanted (a user message of an ended handover).
Proceed = Callable[[], Awaitable[bool]]

PAGE_SIZE = 100
# A safety stop for listings whose pageCount never ends (10 000 entities is far beyond real orgs).
MAX_PAGES = 100


class _Unauthorized(Exception):
    """An API call answered 401 with `token`; handled by refreshing once, never surfaced."""

    def __init__(self, error: GenesysAuthError, token: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.token = token


class _TokenFailed(Exception):
    """No token; wrapped so the API retry loop does not retry what the token retry gave up on."""

    def __init__(self, error: GenesysError) -> None:
        super().__init__(str(error))
        self.error = error


class GenesysClient:
    """Calls to one Genesys Cloud organisation with one OAuth client; no global state."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        region: Region,
        client_id: str,
        client_secret: str,
        *,
        retry: RetryPolicy | None = None,
        request_timeout: float = 10.0,
        on_response: ResponseHook | None = None,
        tokens: TokenProvider | None = None,
    ) -> None:
        self._session = session
        self.region = region
        self.client_id = client_id  # not a secret: it names the OAuth client (its channels are counted per client)
        self._retry = retry or RetryPolicy()
        self._timeout = request_timeout
        self._on_response = on_response
        self.tokens = tokens or TokenProvider(
            session, region.login_base, client_id, client_secret, retry=self._retry,
            request_timeout=request_timeout, on_response=on_response, clock=self._retry.clock,
        )
        # Any 429 on this client holds every API call on it until its Retry-After expires. Token
        # requests go to the login host, which Genesys rate limits apart from the API (and the token
        # provider sends one at a time, honouring its own Retry-After), so they do not use it.
        self.rate_gate = RateGate(self._retry.clock, self._retry.sleep)
        self._integrations: dict[str, Integration] = {}
        self._queues: dict[str, Queue] = {}

    def __repr__(self) -> str:
        return f"GenesysClient(api_base={self.region.api_base!r})"

    # Discovery

    async def list_integrations(self) -> list[Integration]:
        """Every Open Messaging integration of the organisation (all pages)."""
        listed = await self._all_pages(INTEGRATIONS, {}, "integration")
        return [Integration.from_api(e) for e in listed if _has_id_and_name(e)]

    async def find_integration(self, name: str) -> Integration:
        """The integration named exactly `name` (cached), or GenesysLookupError."""
        if name not in self._integrations:
            found = await self.list_integrations()
            match = next((i for i in found if i.name == name), None)
            if match is None:
                raise GenesysLookupError("integration", name, (i.name for i in found))
            self._integrations[name] = match
        return self._integrations[name]

    async def find_queue(self, name: str) -> Queue:
        """The queue named exactly `name` (cached), or GenesysLookupError."""
        if name not in self._queues:
            page = await self._call(
                "GET", QUEUES, params={"name": name, "pageSize": str(PAGE_SIZE)}
            )
            # The name filter is a pattern match, so the exact name is checked here.
            match = next((Queue.from_api(e) for e in entities(page, "queue")
                          if _has_id_and_name(e) and e["name"] == name), None)
            if match is None:
                every = await self._all_pages(QUEUES, {}, "queue")
                raise GenesysLookupError("queue", name, (str(e["name"]) for e in every
                                                         if _has_id_and_name(e)))
            self._queues[name] = match
        return self._queues[name]

    async def update_integration(self, integration_id: str, changes: Mapping[str, Any]) -> Integration:
        """PATCH the integration with fields of the SDK's OpenIntegrationUpdateRequest; the updated one."""
        answer = _object(await self._call(
            "PATCH", INTEGRATION, {"integration_id": integration_id}, json_body=dict(changes)))
        updated = Integration.from_api(answer)
        self._integrations = {name: i for name, i in self._integrations.items() if i.id != integration_id}
        return updated

    async def get_message_recipient(self, recipient_id: str) -> dict[str, Any]:
        """The integration's message routing (its `flow` says whether a flow is attached)."""
        return _object(await self._call("GET", RECIPIENT, {"recipient_id": recipient_id}))

    # Inbound (customer to Genesys)

    async def send_inbound_message(
        self, integration_id: str, body: Mapping[str, Any], *, prefetch_conversation_id: bool = True,
        proceed: Proceed | None = None,
    ) -> dict[str, Any]:
        """Post a customer message; the answer has `id` (which a receipt about the message names) and,
        when prefetched, `conversationId`. `proceed` is asked before each retry; when it answers
        False the call stops with CallAbandoned.
        """
        # No Genesys document says whether a resend with the same channel.messageId is dropped, so a
        # retry after a timeout may show the agent the message twice.
        params = {"prefetchConversationId": "true"} if prefetch_conversation_id else None
        try:
            return _object(await self._call(
                "POST", INBOUND, {"integration_id": integration_id, "kind": "message"},
                params=params, json_body=body, proceed=proceed,
            ))
        except GenesysBadResponse:
            if prefetch_conversation_id:
                raise
            # Without the conversation id asked for, a 2xx means Genesys took the message whatever
            # the body says; only a later receipt about it goes unnamed.
            return {}

    async def send_inbound_structured_response(
        self, integration_id: str, body: Mapping[str, Any], *, proceed: Proceed | None = None,
    ) -> None:
        """Post the customer's choice of a quick reply or button; a 2xx is all that is read."""
        await self._call(
            "POST", STRUCTURED_RESPONSE, {"integration_id": integration_id},
            json_body=body, parse=False, proceed=proceed,
        )

    async def send_inbound_event(
        self, integration_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Post a customer event (typing)."""
        return _object(await self._call(
            "POST", INBOUND, {"integration_id": integration_id, "kind": "event"}, json_body=body
        ))

    async def send_inbound_receipt(self, integration_id: str, body: Mapping[str, Any]) -> None:
        """Post a delivery receipt for an agent message; only the answer's status is read."""
        # One receipt per delivered agent message: the leanest call this client makes (the body
        # encoded once, the answer not decoded, the first try outside the retry machinery).
        await self._call(
            "POST", INBOUND, {"integration_id": integration_id, "kind": "receipt"},
            data=json.dumps(body).encode(), parse=False, lean=True,
        )

    async def estimated_wait_seconds(self, queue_id: str, conversation_id: str) -> int | None:
        """The queue's estimated wait for this conversation (the SDK's EstimatedWaitTimePredictions);
        None when Genesys gives no estimate."""
        answer = _object(await self._call("GET", ESTIMATED_WAIT, {"queue_id": queue_id},
                                          params={"conversationId": conversation_id}))
        return estimated_wait(answer)

    # Agent attachments

    def is_download_url(self, url: str) -> bool:
        """Whether `url` is this region's download API (only such a URL is sent the OAuth token)."""
        return is_download_url(self.region.api_base, url)

    @contextlib.asynccontextmanager
    async def download(self, url: str) -> AsyncIterator[Download]:
        """Stream an agent attachment: the download API with the token, then its signed URL without."""
        if not self.is_download_url(url):
            raise GenesysBadResponse("not a download URL of this region", method="GET")
        async with open_download(self._session, url, self.tokens.get, self.tokens.invalidate,
                                 read_seconds=self._timeout, on_response=self._on_response) as download:
            yield download

    # Bot Connector integrations

    async def get_bot_list(self, integration_id: str) -> list[dict[str, Any]]:
        """The `chatBots` of the Bot Connector integration's BotList (SDK BotConnectorBot objects)."""
        answer = _object(await self._call("GET", BOT_LIST, {"integration_id": integration_id}))
        return [b for b in answer.get("chatBots") or [] if isinstance(b, dict)]

    async def put_bot_list(self, integration_id: str, bots: Iterable[Mapping[str, Any]]) -> None:
        """Replace the integration's bot list (a BotList of BotConnectorBot objects)."""
        await self._call("PUT", BOT_LIST, {"integration_id": integration_id},
                         json_body={"chatBots": [dict(b) for b in bots]}, parse=False)

    # Conversations

    async def get_message_conversation(self, conversation_id: str) -> dict[str, Any]:
        """The messaging conversation with its `participants`."""
        return _object(
            await self._call("GET", CONVERSATION, {"conversation_id": conversation_id})
        )

    async def disconnect_customer(self, conversation_id: str) -> bool:
        """End the customer side of a conversation; False if it was already disconnected."""
        conversation = await self.get_message_conversation(conversation_id)
        participants = conversation.get("participants")
        if not isinstance(participants, list):
            raise GenesysBadResponse("conversation has no participants list")
        connected = [
            p for p in participants
            if isinstance(p, dict) and p.get("purpose") == "customer"
            and p.get("state") != "disconnected" and isinstance(p.get("id"), str)
        ]
        for participant in connected:
            await self._call(
                "PATCH", PARTICIPANT,
                {"conversation_id": conversation_id, "participant_id": participant["id"]},
                json_body={"state": "disconnected"},
            )
        return bool(connected)

    # Notifications

    async def create_notification_channel(self) -> NotificationChannel:
        """A new notifications channel (it expires after about 24 h)."""
        return NotificationChannel.from_api(await self._call("POST", CHANNELS))

    async def add_subscriptions(self, channel_id: str, topics: Iterable[str]) -> list[TopicRejection]:
        """Add `topics` to the channel's subscriptions; returns the topics Genesys refused."""
        return await self._subscriptions("POST", channel_id, topics)

    async def replace_subscriptions(self, channel_id: str, topics: Iterable[str]) -> list[TopicRejection]:
        """Make `topics` the channel's only subscriptions; returns the topics Genesys refused."""
        return await self._subscriptions("PUT", channel_id, topics)

    async def remove_subscriptions(self, channel_id: str) -> None:
        """Drop every subscription of the channel (the API has no call that deletes a channel)."""
        await self._call("DELETE", SUBSCRIPTIONS, {"channel_id": channel_id}, parse=False)

    async def _subscriptions(self, method: str, channel_id: str, topics: Iterable[str]) -> list[TopicRejection]:
        body = [{"id": topic} for topic in topics]
        # With ignoreErrors a topic the OAuth client may not read comes back `Rejected` with its
        # missing permissions, and the others are subscribed; without it, one such topic fails the
        # whole request with 403 (docs/GENESYS_NOTES.md, notifications).
        try:
            answer = await self._call(method, SUBSCRIPTIONS, {"channel_id": channel_id},
                                      params={"ignoreErrors": "true"}, json_body=body)
        except GenesysBadResponse as exc:
            # The subscription was made (2xx); only what was refused is unknown.
            log.debug("subscription answer not readable: %s", exc)
            return []
        return rejected_topics(answer)

    # Plumbing

    async def _all_pages(
        self, template: str, params: Mapping[str, str], what: str
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for number in range(1, MAX_PAGES + 1):
            page = await self._call("GET", template, params={
                **params, "pageSize": str(PAGE_SIZE), "pageNumber": str(number)
            })
            items = entities(page, what)
            found.extend(items)
            count = page.get("pageCount")
            if not items or not isinstance(count, int) or number >= count:
                break
        return found

    async def _call(
        self,
        method: str,
        template: str,
        path_params: Mapping[str, str] | None = None,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        parse: bool = True,
        lean: bool = False,
        proceed: Proceed | None = None,
    ) -> Any:
        # Ids are quoted whole so an id can never reach another path.
        path = template.format(**{k: _segment(v) for k, v in (path_params or {}).items()})
        attempt = self._attempt(method, path, template, params, json_body, data, parse)
        if proceed is not None:
            attempt = _asking_before_retries(attempt, proceed)
        first_failure: Exception | None = None
        started: float | None = None
        retry_unauthorized = True
        if lean and self.rate_gate.remaining() <= 0:
            # No rate limit is active: the first try goes out bare; any failure carries on in the
            # retry path below as its first failed attempt, so the bounds stay the same.
            started = self._retry.clock()
            try:
                return await attempt()
            except _TokenFailed as failed:
                raise failed.error  # noqa: B904 - keeps the cause the token provider set
            except _Unauthorized as unauthorized:
                self.tokens.invalidate(unauthorized.token)
                retry_unauthorized, started = False, None
            except GenesysRateLimited as exc:
                if exc.retry_after is not None:
                    self.rate_gate.hold(float(exc.retry_after))
                first_failure = exc
            except GenesysError as exc:
                first_failure = exc
        for last_try in (False, True) if retry_unauthorized else (True,):
            try:
                return await self._retry.run(attempt, self.rate_gate, first_failure=first_failure,
                                             started=started)
            except _TokenFailed as failed:
                raise failed.error  # noqa: B904 - keeps the cause the token provider set
            except _Unauthorized as unauthorized:
                if last_try:
                    raise unauthorized.error from None
                # The token may have been revoked or expired early: refresh once, try again.
                self.tokens.invalidate(unauthorized.token)
            first_failure = started = None
        raise AssertionError("unreachable")

    def _attempt(
        self, method: str, path: str, template: str, params: Mapping[str, str] | None,
        json_body: Any, data: bytes | None, parse: bool,
    ) -> Callable[[], Awaitable[Any]]:
        url = self.region.api_base + path

        async def attempt() -> Any:
            try:
                token = await self.tokens.get()
            except GenesysError as exc:
                raise _TokenFailed(exc) from None
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            if data is not None:
                headers["Content-Type"] = "application/json"
            try:
                return await exchange(
                    self._session, method, url, path=path,
                    path_template=template, headers=headers, request_timeout=self._timeout,
                    params=params, json_body=json_body, data=data, on_response=self._on_response,
                    parse=parse,
                )
            except GenesysAuthError as exc:
                raise _Unauthorized(exc, token) from None

        return attempt


def _asking_before_retries(attempt: Callable[[], Awaitable[Any]], proceed: Proceed) -> Callable[[], Awaitable[Any]]:
    """`attempt`, asking `proceed` before every try but the first."""
    tries = 0

    async def guarded() -> Any:
        nonlocal tries
        tries += 1
        if tries > 1 and not await proceed():
            raise CallAbandoned("the call is no longer wanted")
        return await attempt()

    return guarded


@functools.lru_cache(maxsize=4096)
def _segment(value: str) -> str:
    # Cached: the same integration and conversation ids are quoted for every receipt and message.
    return quote(value, safe="")


def _has_id_and_name(entity: dict[str, Any]) -> bool:
    return isinstance(entity.get("id"), str) and isinstance(entity.get("name"), str)


def _object(value: Any) -> dict[str, Any]:
    # Some calls (PATCH, 202/204) answer with no body; callers get an empty mapping then.
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise GenesysBadResponse("answer is not a JSON object")
    return value


def estimated_wait(answer: Mapping[str, Any]) -> int | None:
    """The seconds of the messaging (or all-media) prediction of an EstimatedWaitTimePredictions."""
    results = [r for r in answer.get("results") or [] if isinstance(r, dict)]
    for intent in ("MESSAGE", "ALL"):
        for result in results:
            seconds = result.get("estimatedWaitTimeSeconds")
            if (str(result.get("intent", "")).upper() == intent and isinstance(seconds, int)
                    and not isinstance(seconds, bool) and seconds >= 0):
                return seconds
    return None
