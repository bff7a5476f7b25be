"""Request bodies read to their end over a real socket: split, chunked, large, and over the limit."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from extension.genesys.signature import sign
from extension.testing.emulator.config import DEFAULT_WEBHOOK_SECRET

from stack import WEBHOOK_URL as WEBHOOK
from stack import Stack, StackFactory, agent_message, genesys_user_id, start_handover, texts

LIMIT = 1024 * 1024
PAUSE = 0.05  # long enough for the first segment to be handled alone


class Raw:
    """One HTTP/1.1 request written by hand on a loopback socket, in the pieces the test chooses."""

    def __init__(self, stack: Stack, path: str, headers: dict[str, str]) -> None:
        self.stack = stack
        self.head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        self.head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        server = self.stack.client.server
        self.reader, self.writer = await asyncio.open_connection(server.host, server.port)
        self.writer.write(self.head.encode())
        await self.writer.drain()

    async def send(self, part: bytes, pause: float = PAUSE) -> None:
        assert self.writer is not None
        self.writer.write(part)
        await self.writer.drain()
        await asyncio.sleep(pause)

    async def answer(self) -> tuple[int, Any]:
        """The status and JSON body of the answer (read without waiting for the request to end)."""
        assert self.reader is not None and self.writer is not None
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode()
        lines = head.split("\r\n")
        fields = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
        body = await self.reader.readexactly(int(fields["content-length"]))
        self.writer.close()
        return int(lines[0].split()[1]), json.loads(body)


async def send_in_pieces(stack: Stack, path: str, body: bytes, pieces: int, headers: dict[str, str] | None = None,
                         chunked: bool = False) -> tuple[int, Any]:
    """Write the body in `pieces` separate writes with a pause between them."""
    head = {"Content-Type": "application/json", **(headers or {})}
    head.update({"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(len(body))})
    raw = Raw(stack, path, head)
    await raw.open()
    size = -(-len(body) // pieces)
    for start in range(0, len(body), size):
        part = body[start:start + size]
        await raw.send(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
    if chunked:
        await raw.send(b"0\r\n\r\n", pause=0)
    return await raw.answer()


def user_body(text: str, padding: int = 0) -> bytes:
    body: dict[str, Any] = {"userId": "u1", "sessionId": "s1", "text": text}
    if padding:
        # A field the route ignores: `data` has its own, smaller limit (max_data_bytes).
        body["padding"] = "x" * padding
    return json.dumps(body).encode()


async def test_a_body_split_across_two_writes_is_read_whole(make_stack: StackFactory) -> None:
    stack = await make_stack()
    await stack.say("hello")
    body = user_body("split in two", padding=1900)
    assert len(body) > 1460  # more than one TCP segment's worth, sent as two writes
    status, answer = await send_in_pieces(stack, "/support-bot", body, pieces=2)
    assert status == 200, answer
    assert "echo: split in two" in [o["text"] for o in answer["outputStack"]]


async def test_a_chunked_body_is_read_whole(make_stack: StackFactory) -> None:
    stack = await make_stack()
    await stack.say("hello")
    body = user_body("chunked", padding=100_000)
    status, answer = await send_in_pieces(stack, "/support-bot", body, pieces=10, chunked=True)
    assert status == 200, answer
    assert "echo: chunked" in [o["text"] for o in answer["outputStack"]]


async def test_a_signed_900_kb_webhook_in_pieces_is_delivered(make_stack: StackFactory) -> None:
    stack = await make_stack()
    await start_handover(stack)
    to_id = await genesys_user_id(stack)
    text = "long reply " + "y" * 900_000
    raw = json.dumps(agent_message(to_id, text, message_id="m-big")).encode()
    signed = {"X-Hub-Signature-256": sign(DEFAULT_WEBHOOK_SECRET, raw)}
    status, answer = await send_in_pieces(stack, WEBHOOK, raw, pieces=4, headers=signed)
    assert (status, answer) == (200, {"status": "delivered"})
    assert texts(await stack.events(), "agent") == [text]
    # The same bytes again, chunked this time: read whole, verified, and deduplicated on `id`.
    status, answer = await send_in_pieces(stack, WEBHOOK, raw, pieces=4, headers=signed, chunked=True)
    assert (status, answer) == (200, {"status": "duplicate"})


async def test_a_body_of_exactly_the_limit_is_accepted(make_stack: StackFactory) -> None:
    stack = await make_stack()
    body = user_body("at the limit")
    body = user_body("at the limit", padding=LIMIT - len(body) - len(b', "padding": ""'))
    assert len(body) == LIMIT
    status, answer = await send_in_pieces(stack, "/support-bot", body, pieces=3, chunked=True)
    assert status == 200, answer


async def test_one_byte_over_the_limit_is_refused_and_changes_nothing(make_stack: StackFactory) -> None:
    stack = await make_stack()
    await start_handover(stack)
    to_id = await genesys_user_id(stack)
    before = await stack.events()
    user = user_body("too big")
    user = user_body("too big", padding=LIMIT + 1 - len(user) - len(b', "padding": ""'))
    agent = agent_message(to_id, "too big", message_id="m-huge")
    agent["padding"] = ""
    agent["padding"] = "z" * (LIMIT + 1 - len(json.dumps(agent).encode()))
    webhook = json.dumps(agent).encode()
    assert len(user) == len(webhook) == LIMIT + 1
    signed = {"X-Hub-Signature-256": sign(DEFAULT_WEBHOOK_SECRET, webhook)}
    for path, body, headers in (("/support-bot", user, {}), (WEBHOOK, webhook, signed)):
        for chunked in (False, True):
            status, answer = await send_in_pieces(stack, path, body, pieces=3, headers=headers, chunked=chunked)
            assert (status, answer) == (413, {"error": f"the body is larger than {LIMIT} bytes"}), (path, chunked)
    assert await stack.events() == before
    assert not [r for r in stack.emu.requests if r.path.endswith("/inbound/open/receipt")]


async def test_an_endless_chunked_body_is_refused_once_past_the_limit(make_stack: StackFactory) -> None:
    stack = await make_stack()
    raw = Raw(stack, "/support-bot", {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    await raw.open()
    piece = b"x" * 65536
    for _ in range(LIMIT // len(piece) + 1):
        await raw.send(b"%x\r\n%s\r\n" % (len(piece), piece), pause=0)
    # The request never ends; the answer comes anyway, as soon as the limit is passed.
    status, answer = await asyncio.wait_for(raw.answer(), timeout=30)
    assert (status, answer) == (413, {"error": f"the body is larger than {LIMIT} bytes"})
    assert await stack.events() == []
