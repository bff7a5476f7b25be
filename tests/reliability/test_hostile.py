"""Hostile input at the edges: deep JSON, undecodable headers, false encodings, a full disk, slow bodies, long texts.

Every route that takes a body is tried; where what is stored matters, on every store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest

from extension import keys
from extension.flows.session import SessionKey
from extension.genesys.signature import sign
from extension.testing.emulator.config import DEFAULT_WEBHOOK_SECRET

from .ledger import Ledger
from stack import Stack, StackFactory, agent_message, post_signed, start_handover
from support import eventually

T = TypeVar("T")
WEBHOOK = "/handover/genesysCloudOM"
END_KEY = "end-handover-key-0123456789"
DEEP = 5000
# Arrays nested DEEP levels, inside an object so the routes get past "must be an object".
DEEP_JSON = ('{"userId": "u-deep", "sessionId": "s1", "data": ' + "[" * DEEP + "]" * DEEP + "}").encode()



def port_of(stack: Stack) -> int:
    port = stack.client.server.port
    assert port is not None
    return port


async def raw_exchange(port: int, request: bytes, within: float = 10.0) -> tuple[int, bytes]:
    """Send raw request bytes (any header byte allowed) and read the whole answer: status and body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), within)
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def raw_post(path: str, body: bytes, headers: dict[str, bytes]) -> bytes:
    lines = [f"POST {path} HTTP/1.1".encode(), b"Host: 127.0.0.1", b"Connection: close",
             b"Content-Type: application/json", f"Content-Length: {len(body)}".encode()]
    lines += [name.encode() + b": " + value for name, value in headers.items()]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


async def assert_json_error(resp: aiohttp.ClientResponse, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert isinstance(body.get("error"), str) and body["error"]
    return dict(body)


async def events_of(stack: Stack, user: str) -> list[dict[str, Any]]:
    resp = await stack.client.get(f"/{stack.token}/events", params={"userId": user, "sessionId": "s1"})
    assert resp.status == 200
    return list((await resp.json())["events"])


async def frame_of_type(ws: aiohttp.ClientWebSocketResponse, kind: str, within: float = 10.0) -> dict[str, Any]:
    """The next frame of this type the socket pushes (events before it are skipped)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        msg = await ws.receive(timeout=max(0.1, deadline - loop.time()))
        assert msg.type == aiohttp.WSMsgType.TEXT, f"socket closed or failed: {msg}"
        frame = json.loads(msg.data)
        if frame.get("type") == kind:
            return dict(frame)



# 9 --------------------------------------------------------------------------------------------------

async def test_json_nested_5000_deep_is_refused_with_400(store_url: str, make_stack: StackFactory,
                                                         ledger: Ledger) -> None:
    stack = await make_stack(store=store_url, connection_extra=f'endHandoverApiKey = "{END_KEY}"')
    headers = {"Content-Type": "application/json"}
    # The user route: nothing of the input is applied.
    resp = await stack.client.post(f"/{stack.token}", data=DEEP_JSON, headers=headers)
    assert "deeper than 64" in (await assert_json_error(resp, 400))["error"]
    assert await events_of(stack, "u-deep") == []
    # The webhook, correctly signed so that it reaches parsing.
    status, answer = await post_signed(stack, DEEP_JSON)
    assert status == 400 and "deeper than 64" in answer.get("error"), answer
    # The end events, with the key.
    resp = await stack.client.post(WEBHOOK, data=DEEP_JSON,
                                   headers={**headers, "Authorization": f"Bearer {END_KEY}"})
    assert "deeper than 64" in (await assert_json_error(resp, 400))["error"]
    # The server is still whole: a plain input is answered.
    await stack.say("hello", user="u-after")
    ledger.record("hostile: JSON nested 5000 deep", "on POST /{urlToken}, the signed webhook and end events "
                  "(memory, SQLite, Redis): 400 each, nothing stored, the next input answered")


async def test_json_nested_5000_deep_socket_frame_gets_an_error_frame(store_url: str,
                                                                      make_stack: StackFactory) -> None:
    stack = await make_stack(store=store_url)
    async with stack.client.ws_connect(f"/{stack.token}/socket", params={"userId": "u-ws", "sessionId": "s1"}) as ws:
        await ws.send_str('{"type": "message", "data": ' + "[" * DEEP + "]" * DEEP + "}")
        error = await frame_of_type(ws, "error")
        assert "deeper" in error["error"]
        # The socket stays usable: the next frame is taken and answered by the bot.
        await ws.send_json({"type": "message", "text": "still here"})
        assert (await frame_of_type(ws, "output"))["source"] == "bot"
        assert not ws.closed


# 10 -------------------------------------------------------------------------------------------------

# Latin-1 bytes, broken UTF-8, and valid UTF-8 that is not ASCII.
UNDECODABLE = [b"Bearer \xff\xfe\x80not-utf8", b"Bearer \xc3\x28", "Bearer ключ-0123456789".encode()]


async def test_bearer_with_undecodable_bytes_is_401(store_url: str, make_stack: StackFactory, ledger: Ledger) -> None:
    stack = await make_stack(store=store_url, connection_extra=f'endHandoverApiKey = "{END_KEY}"')
    body = json.dumps({"conversationId": "c-1", "topic": "v2.detail.events.conversation.c-1.user.end"}).encode()
    signed = json.dumps(agent_message("nobody")).encode()
    for auth in UNDECODABLE:
        status, answer = await raw_exchange(port_of(stack), raw_post(WEBHOOK, body, {"Authorization": auth}))
        assert status == 401, (auth, answer)
        assert json.loads(answer)["error"]
        # The same bytes as a webhook signature: refused the same way.
        status, answer = await raw_exchange(port_of(stack), raw_post(WEBHOOK, signed, {"X-Hub-Signature-256": auth}))
        assert status == 401, (auth, answer)
    ledger.record("hostile: undecodable Authorization and signature bytes",
                  "latin-1, broken UTF-8 and Cyrillic bytes as end key and as signature "
                  "(memory, SQLite, Redis): 401 each")


# 11 -------------------------------------------------------------------------------------------------

async def test_content_encoding_gzip_on_a_body_that_is_not_gzip_is_400_on_every_post_route(
        store_url: str, make_stack: StackFactory, ledger: Ledger) -> None:
    stack = await make_stack(store=store_url, connection_extra=f'endHandoverApiKey = "{END_KEY}"')
    raw = json.dumps({"userId": "u-gz", "sessionId": "s1", "text": "hello"}).encode()
    gzip = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    routes = [
        (f"/{stack.token}", gzip),
        (WEBHOOK, {**gzip, "X-Hub-Signature-256": sign(DEFAULT_WEBHOOK_SECRET, raw)}),
        (WEBHOOK, {**gzip, "Authorization": f"Bearer {END_KEY}"}),
    ]
    for path, headers in routes:
        resp = await stack.client.post(path, data=raw, headers=headers)
        await assert_json_error(resp, 400)
    assert await events_of(stack, "u-gz") == []
    ledger.record("hostile: Content-Encoding gzip on a plain body", "POST /{urlToken}, signed webhook, end events "
                  "(memory, SQLite, Redis): 400 each, nothing stored, the connection closed")


# 13 -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("failure", ["disk full", "read-only file"])
async def test_sqlite_writes_failing_answer_503_with_retry_after_and_readyz_names_the_store(
        make_stack: StackFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture, ledger: Ledger,
        failure: str) -> None:
    stack = await make_stack(store=f"sqlite:///{tmp_path}/full.db")
    await stack.say("hello", user="u-before")
    db = stack.client.app[keys.STORE].db  # the runtime's own connection
    if failure == "disk full":
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}")
    else:
        db.execute("PRAGMA query_only = ON")
    caplog.set_level(logging.WARNING)
    try:
        resp = await stack.client.post(f"/{stack.token}", json={"userId": "u-full", "sessionId": "s1",
                                                               "text": "x" * 8000})
        await assert_json_error(resp, 503)
        assert resp.headers.get("Retry-After", "").isdigit()
        async with stack.client.ws_connect(f"/{stack.token}/socket",
                                           params={"userId": "u-full-ws", "sessionId": "s1"}) as ws:
            await ws.send_json({"type": "message", "text": "y" * 8000})
            assert (await frame_of_type(ws, "error"))["error"]
        ready = await stack.client.get("/readyz")
        assert ready.status == 503
        store_state = (await ready.json())["store"]
        real = "full" if failure == "disk full" else "readonly"
        assert real in store_state.replace("-", "").lower(), store_state
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert real in logged.replace("-", "").lower(), logged
        assert "cannot rollback" not in logged
    finally:
        db.execute("PRAGMA max_page_count = 1073741823")
        db.execute("PRAGMA query_only = OFF")
    # Writes work again: the next input is taken and /readyz recovers.
    await stack.say("hello again", user="u-full")
    assert (await stack.client.get("/readyz")).status == 200
    ledger.record(f"hostile: SQLite writes failing ({failure})",
                  "REST and socket inputs: 503 with Retry-After, /readyz 503 naming the SQLite error, "
                  "recovered on the next write")


# 6 --------------------------------------------------------------------------------------------------

UNFINISHED = 200
MAX_PENDING = 50
BODY_TIMEOUT = 1.0


async def _unfinished(port: int, path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, float]:
    """A POST that promises 1000 bytes and sends one."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 "Content-Length: 1000\r\n\r\n{".encode())
    await writer.drain()
    return reader, writer, time.monotonic()


async def _status_and_close(reader: asyncio.StreamReader, sent: float, within: float) -> tuple[int, float, float]:
    """The answer's status once the server closed the connection, with when the body was sent and the close.

    A client still sending when the server closes gets a reset after the answer: what was read by
    then is the answer (read in chunks, so a reset does not lose it)."""
    answer = b""

    async def until_closed() -> None:
        nonlocal answer
        with contextlib.suppress(ConnectionResetError):
            while chunk := await reader.read(65536):
                answer += chunk

    await asyncio.wait_for(until_closed(), within)
    return int(answer.split(b" ", 2)[1]), sent, time.monotonic()


async def test_bodies_that_never_finish_do_not_lock_out_the_webhook(make_stack: StackFactory,
                                                                    ledger: Ledger) -> None:
    stack = await make_stack(server_extra=f"max_pending_requests = {MAX_PENDING}\n"
                                          f"body_timeout_seconds = {BODY_TIMEOUT}")
    from extension.keys import BODY_READING  # here, so the other tests run where it is missing

    port = port_of(stack)
    reading = stack.client.app[BODY_READING]
    most_pending = 0

    async def watch() -> None:
        nonlocal most_pending
        while True:
            most_pending = max(most_pending, reading.pending)
            await asyncio.sleep(0.005)

    watching = asyncio.create_task(watch())
    opened = await asyncio.gather(*(_unfinished(port, f"/{stack.token}") for _ in range(UNFINISHED)))
    # While they hang, Genesys' webhook is answered at once.
    started = time.monotonic()
    status, _ = await post_signed(stack, agent_message("nobody"))
    webhook_seconds = time.monotonic() - started
    assert status == 200
    assert webhook_seconds < BODY_TIMEOUT
    try:
        answers = await asyncio.gather(*(_status_and_close(r, sent, BODY_TIMEOUT + 10) for r, _, sent in opened))
    finally:
        watching.cancel()
        for _, writer, _ in opened:
            writer.close()
    refused = [status for status, _, _ in answers if status == 503]
    timed_out = [(sent, closed) for status, sent, closed in answers if status == 408]
    assert len(refused) + len(timed_out) == UNFINISHED, sorted({status for status, _, _ in answers})
    # At most max_pending bodies are waited for at once; the others are answered 503 without
    # waiting (connections beyond the listen backlog reach the server a second later, so more
    # than max_pending may time out in all).
    assert refused and timed_out
    assert 0 < most_pending <= MAX_PENDING
    waited = [closed - sent for sent, closed in timed_out]
    assert min(waited) >= BODY_TIMEOUT * 0.9
    ledger.record("hostile: 200 bodies that never finish",
                  f"cap {MAX_PENDING}, body timeout {BODY_TIMEOUT:g} s: {len(refused)} answered 503 without waiting, "
                  f"{len(timed_out)} (at most {most_pending} at once) closed "
                  f"with 408 after {min(waited):.1f}-{max(waited):.1f} s; the webhook answered 200 in "
                  f"{webhook_seconds * 1000:.0f} ms")


async def test_a_body_that_never_ends_is_closed_after_body_timeout(make_stack: StackFactory) -> None:
    stack = await make_stack(server_extra=f"body_timeout_seconds = {BODY_TIMEOUT}")
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(stack))
    sent = time.monotonic()
    writer.write(f"POST /{stack.token} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n".encode())

    async def trickle() -> None:
        # A byte every 0.1 s: never idle, never done.
        while True:
            writer.write(b"1\r\n \r\n")
            await writer.drain()
            await asyncio.sleep(0.1)

    dripping = asyncio.create_task(trickle())
    try:
        status, _, closed = await _status_and_close(reader, sent, BODY_TIMEOUT + 10)
    finally:
        dripping.cancel()
        writer.close()
    assert status == 408
    # Closed at the body timeout, not after aiohttp's 10 s of lingering on the unread rest.
    assert BODY_TIMEOUT * 0.9 <= closed - sent < BODY_TIMEOUT + 5


async def test_headers_that_never_finish_are_closed_after_header_timeout(make_stack: StackFactory,
                                                                        ledger: Ledger) -> None:
    stack = await make_stack(server_extra="header_timeout_seconds = 1.0")
    opened = []
    for _ in range(20):
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(stack))
        writer.write(f"POST /{stack.token} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: app".encode())
        await writer.drain()
        opened.append((reader, writer, time.monotonic()))
    status, _ = await post_signed(stack, agent_message("nobody"))
    assert status == 200
    try:
        closed = [await asyncio.wait_for(r.read(), 10) for r, _, _ in opened]
        waited = [time.monotonic() - sent for _, _, sent in opened]
    finally:
        for _, writer, _ in opened:
            writer.close()
    assert closed == [b""] * len(opened)  # closed without an answer: no request ever arrived
    assert min(waited) >= 0.9
    ledger.record("hostile: 20 request heads that never finish", f"header timeout 1 s: all closed after "
                  f"{min(waited):.1f}-{max(waited):.1f} s; the webhook answered 200 meanwhile")


# 5 --------------------------------------------------------------------------------------------------

async def test_text_over_max_text_chars_is_413_and_nothing_is_stored(store_url: str, make_stack: StackFactory,
                                                                     ledger: Ledger) -> None:
    stack = await make_stack(store=store_url)
    long = "x" * 10001
    resp = await stack.client.post(f"/{stack.token}", json={"userId": "u-long", "sessionId": "s1", "text": long})
    await assert_json_error(resp, 413)
    resp = await stack.client.post(f"/{stack.token}", json={"userId": "u-long", "sessionId": "s1",
                                                           "data": {"blob": "y" * 20000}})
    await assert_json_error(resp, 413)
    async with stack.client.ws_connect(f"/{stack.token}/socket", params={"userId": "u-long", "sessionId": "s1"}) as ws:
        await ws.send_json({"type": "message", "text": long, "id": "f-1"})
        assert "10000" in (await frame_of_type(ws, "error"))["error"]
    assert await events_of(stack, "u-long") == []
    assert await stack.client.app[keys.STORE].get_session(SessionKey(stack.token, "u-long", "s1").id) is None
    # At the limit, the text is taken.
    await stack.say("z" * 10000, user="u-long")
    ledger.record("hostile: text over max_text_chars", "10,001 characters (REST and socket), 20 KB of data "
                  "(memory, SQLite, Redis): 413 each, nothing stored")


async def test_text_over_max_text_chars_during_a_handover_sends_nothing_to_genesys(make_stack: StackFactory) -> None:
    stack = await make_stack()
    cid = await start_handover(stack)
    before = len(stack.emu.inbound_messages(cid))
    resp = await stack.client.post(f"/{stack.token}", json={"userId": "u1", "sessionId": "s1", "text": "x" * 10001})
    await assert_json_error(resp, 413)
    await stack.say("short one")
    sent = await eventually(lambda: [m.text for m in stack.emu.inbound_messages(cid)[before:]])
    assert sent == ["short one"]


async def test_one_user_flooding_is_bounded_by_the_transcript_and_send_budgets(
        store_url: str, make_stack: StackFactory, ledger: Ledger) -> None:
    stack = await make_stack(store=store_url)
    pastes = 20
    for i in range(pastes):
        await stack.say(f"paste {i} " + "p" * 9000, user="u-flood")
    doc = await stack.client.app[keys.STORE].get_session(SessionKey(stack.token, "u-flood", "s1").id)
    stored = len(json.dumps(doc))
    assert stored < 150_000  # the session keeps 100,000 characters of its conversation, not 360,000
    cid = await start_handover(stack, user="u-flood")
    transcript = len(stack.emu.inbound_messages(cid))
    # 20 x 9,000 characters and their echoes, about 360,000 characters: a handful of messages.
    assert transcript <= 20000 // 4000 + 3
    statuses = []
    for i in range(25):
        resp = await stack.client.post(f"/{stack.token}", json={"userId": "u-flood", "sessionId": "s1",
                                                               "text": f"burst {i}"})
        statuses.append(resp.status)
    assert statuses == [200] * 20 + [429] * 5  # the default budget: 20 a minute per session
    await eventually(lambda: len(stack.emu.inbound_messages(cid)) >= transcript + 20)
    assert [m.text for m in stack.emu.inbound_messages(cid)[transcript:]] == [f"burst {i}" for i in range(20)]
    ledger.record("hostile: one user floods, then asks for an agent",
                  f"{pastes} pastes of 9,000 characters, then 25 messages at once (memory, SQLite, Redis): "
                  f"the session document stayed at {stored // 1000} KB, the transcript went as {transcript} "
                  f"messages, 20 messages sent, 5 answered 429", user=(20, 0, 0))
