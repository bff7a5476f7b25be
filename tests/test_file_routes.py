"""File routes without Genesys: uploads need public_url, links are refused unless whole, file names made safe."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from extension.app import build_app
from extension.config import Config
from extension.file_types import content_disposition, safe_filename, sniff
from extension.flows.session import SessionKey
from extension.links import LinkRefused, SignedLinks, link_url
from extension.manifest import Manifest

Client = Callable[..., Awaitable[TestClient[Any, Any]]]
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 20


async def test_uploads_need_a_public_url(aiohttp_client: Client, make_config: Callable[..., Config],
                                         manifest: Manifest) -> None:
    config = make_config()
    config = dataclasses.replace(config, server=dataclasses.replace(config.server, public_url=None))
    client = await aiohttp_client(build_app(config, manifest))
    resp = await client.post("/support-bot", data=json.dumps({"userId": "u1", "sessionId": "s1", "text": "hi"}))
    assert resp.status == 200
    resp = await client.post("/support-bot/attachments", params={"userId": "u1", "sessionId": "s1"}, data=PNG)
    assert resp.status == 409 and "public_url" in (await resp.json())["error"]


async def test_a_link_is_refused_unless_it_is_whole(aiohttp_client: Client, make_config: Callable[..., Config],
                                                    manifest: Manifest) -> None:
    client = await aiohttp_client(build_app(make_config(), manifest))
    for token in ("f1", "f1.a.b.c", "f1.abc.99999999999.sig", "f2.abc.9999999999.sig", "x" * 300):
        resp = await client.get(f"/attachments/{token}")
        assert resp.status == 403, token
        assert "not valid" in (await resp.json())["error"]


def test_a_token_shows_no_ids_and_checks_its_session_and_time() -> None:
    now = [1000.0]
    links = SignedLinks(lambda: now[0])
    links.open(b"k" * 32)
    key = SessionKey("ep", "user-42", "session-7")
    blob_id, token = links.new(key, 60)
    assert "user-42" not in token and "session-7" not in token and "ep" not in token.split(".")[0]
    parsed = links.parse(token)
    links.check(parsed, key.id)
    for other in (SessionKey("ep", "user-43", "session-7"), SessionKey("ep2", "user-42", "session-7")):
        try:
            links.check(parsed, other.id)
            raise AssertionError("a token of another session passed")
        except LinkRefused:
            pass
    now[0] = 1061.0
    try:
        links.parse(token)
        raise AssertionError("an expired token passed")
    except LinkRefused as exc:
        assert str(exc) == "expired"
    assert repr(links) == "SignedLinks(key=***)"
    assert link_url(None, "t") == "/attachments/t"
    assert link_url("https://bot.example.com/", "t") == "https://bot.example.com/attachments/t"


def test_file_names_and_types() -> None:
    assert safe_filename("../../etc/passwd", "application/pdf") == "passwd"
    assert safe_filename('C:\\x\\a"b;c.png', "image/png") == "a_b_c.png"
    assert safe_filename("\r\n", "image/png") == "file.png"
    assert safe_filename("photo\u202egnp.exe", "image/png") == "photognp.exe"
    assert safe_filename(None, "application/pdf") == "file.pdf"
    assert content_disposition("ü.pdf", "application/pdf") == "inline; filename=\"_.pdf\"; filename*=UTF-8''%C3%BC.pdf"
    assert content_disposition("a.html", "text/html").startswith("attachment;")
    assert sniff(PNG) == "image/png" and sniff(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp"
    assert sniff(b"RIFF\0\0\0\0WAVEfmt ") is None and sniff(b"") is None
