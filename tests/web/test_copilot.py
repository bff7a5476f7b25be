"""Copilot links (docs/CONTRACT.md section 8): the JWT, the config rule, the link in the handover, the page."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import jwt
import pytest

from extension.config import Config, ConfigError
from extension.copilot import LIFETIME_SECONDS, CopilotAuthError, CopilotGrant, copilot_link, issue_token, verify_token
from extension.demo import Demo
from extension.flows.session import SessionKey
from extension.secrets import Secret

from support import eventually

SECRET = Secret("copilot-secret-for-tests-0123456789")
KEY = SessionKey("support-bot", "u1", "s1")
NOW = 1_800_000_000.0


def test_a_token_names_one_handover_of_the_session_without_showing_it_and_lasts_24_hours() -> None:
    token = issue_token(SECRET, KEY, handover="g-1", now=NOW)
    claims = jwt.decode(token, SECRET.reveal(), algorithms=["HS256"],
                        options={"verify_exp": False, "verify_iat": False})
    assert set(claims) == {"ref", "urlToken", "iat", "exp"} and claims["urlToken"] == "support-bot"
    assert claims["exp"] - claims["iat"] == LIFETIME_SECONDS == 24 * 3600
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    # The sealed ref differs per token (a fresh nonce), so two links for one session look unrelated.
    assert issue_token(SECRET, KEY, handover="g-1", now=NOW) != token
    assert verify_token(SECRET, token, "support-bot", now=NOW + LIFETIME_SECONDS - 1) == CopilotGrant(KEY, "g-1")


@pytest.mark.parametrize("case", ["expired", "tampered", "other endpoint", "other secret", "missing",
                                  "alg none", "missing claim"])
def test_bad_tokens_are_refused(case: str) -> None:
    token = issue_token(SECRET, KEY, now=NOW)
    url_token: str | None = "support-bot"
    now = NOW + 10
    if case == "expired":
        now = NOW + LIFETIME_SECONDS
    elif case == "tampered":
        head, body, sig = token.split(".")
        forged = jwt.encode({"ref": "AAAA", "urlToken": "support-bot", "exp": NOW + 99},
                            "another-secret-0123456789-0123456789")
        token = f"{head}.{forged.split('.')[1]}.{sig}"
    elif case == "other endpoint":
        url_token = "billing-bot"
    elif case == "other secret":
        token = issue_token(Secret("some-other-secret-0123456789-abcdef"), KEY, now=NOW)
    elif case == "missing":
        token = ""
    elif case == "alg none":
        token = jwt.encode({"ref": "AAAA", "urlToken": "support-bot", "exp": NOW + 99}, None, algorithm="none")
    elif case == "missing claim":
        # The old shape (ids in clear) is no longer taken.
        token = jwt.encode({"userId": "u1", "sessionId": "s1", "urlToken": "support-bot", "exp": NOW + 99},
                           SECRET.reveal())
    with pytest.raises(CopilotAuthError):
        verify_token(SECRET, token, url_token, now=now)


def test_the_link_has_the_documented_shape() -> None:
    link = copilot_link("https://copilot.example.com/", KEY, SECRET, now=NOW)
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://copilot.example.com/"
    query = parse_qs(parts.query)
    assert query["URLToken"] == ["support-bot"]
    assert verify_token(SECRET, query["auth"][0], "support-bot", now=NOW).key == KEY


def test_config_refuses_a_copilot_url_without_a_secret(make_config: Callable[..., Config]) -> None:
    with pytest.raises(ConfigError) as caught:
        make_config(endpoint_extra='copilotUrl = "https://copilot.example.com"')
    assert any(line.startswith("endpoints[0].copilotUrl: needs server.copilot_secret") for line in caught.value.errors)


def test_config_accepts_a_copilot_url_with_a_secret(write_config: Callable[..., Path], manifest: Any) -> None:
    from extension.config import load_config

    path = write_config(endpoint_extra='copilotUrl = "https://copilot.example.com"')
    path.write_text(path.read_text().replace('public_url = "https://bot.example.com"',
                                             'public_url = "https://bot.example.com"\n'
                                             f'copilot_secret = "{SECRET.reveal()}"'))
    config = load_config(path, manifest, env={})
    assert config.endpoints[0].copilot_url == "https://copilot.example.com"
    assert SECRET.reveal() not in repr(config)


async def _handover(demo: Demo, http: aiohttp.ClientSession, user: str = "u1") -> tuple[str, dict[str, str]]:
    """Chat, ask for an agent; the Genesys conversation id and its custom attributes."""
    await _say(demo, http, user, "hello", "I did something", "agent please")
    conversation = await eventually(
        lambda: _first(c for c in demo.emulator.agent.waiting() if c.attributes.get("userId") == user))
    return conversation.id, dict(conversation.attributes)


SESSION_TOKENS: dict[tuple[str, str], str] = {}


async def _say(demo: Demo, http: aiohttp.ClientSession, user: str, *texts: str) -> None:
    for text in texts:
        token = SESSION_TOKENS.get((demo.runtime_url, user))
        async with http.post(f"{demo.runtime_url}/demo", json={"userId": user, "sessionId": "s1", "text": text},
                             headers={"X-Session-Token": token} if token else {}) as r:
            assert r.status == 200
            SESSION_TOKENS[(demo.runtime_url, user)] = (await r.json())["sessionToken"]


async def _first(items: Any) -> Any:
    return next(iter(items), None)


async def test_the_handover_carries_a_link_to_the_copilot_page(demo: Demo) -> None:
    async with aiohttp.ClientSession() as http:
        cid, attributes = await _handover(demo, http)
        link = attributes["copilotUrl"]
        assert link.startswith(f"{demo.runtime_url}/copilot/?URLToken=demo&auth=")
        async with http.get(link) as page:
            assert page.status == 200
            assert page.headers["Content-Type"] == "text/html; charset=utf-8"
            assert page.headers["Referrer-Policy"] == "no-referrer"
            assert "script-src" not in page.headers["Content-Security-Policy"]
            body = await page.text()
        assert "I did something" in body and "agent please" in body
        assert 'data-state="queue"' in body and cid in body
        await demo.emulator.agent.accept(cid)
        await demo.emulator.agent.reply(cid, "<b>Hi</b> from Anna")

        async def agent_line_shown() -> bool:
            async with http.get(link) as page:
                text = await page.text()
            return 'data-state="active"' in text and "&lt;b&gt;Hi&lt;/b&gt; from Anna" in text

        await eventually(agent_line_shown)


async def test_the_copilot_page_refuses_bad_links(demo: Demo) -> None:
    secret = demo.config.server.copilot_secret
    assert secret is not None
    good = issue_token(secret, SessionKey("demo", "u1", "s1"))
    expired = issue_token(secret, SessionKey("demo", "u1", "s1"), now=time.time() - LIFETIME_SECONDS - 5)
    foreign = issue_token(secret, SessionKey("other-bot", "u1", "s1"))
    stranger = Secret("not-the-runtime-secret-0123456789abc")
    cases = [
        {},
        {"URLToken": "demo"},
        {"URLToken": "demo", "auth": expired},
        {"URLToken": "demo", "auth": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")},
        {"URLToken": "other-bot", "auth": foreign},  # valid signature, but no such endpoint here
        {"URLToken": "other-bot", "auth": good},  # a token for another endpoint
        {"URLToken": "demo", "auth": issue_token(stranger, SessionKey("demo", "u1", "s1"))},
    ]
    async with aiohttp.ClientSession() as http:
        for params in cases:
            async with http.get(f"{demo.runtime_url}/copilot", params=params) as page:
                assert page.status == 401, params
                assert "not valid for this conversation" in await page.text()
        async with http.get(f"{demo.runtime_url}/copilot", params={"URLToken": "demo", "auth": good}) as page:
            assert page.status == 200


async def test_without_a_copilot_secret_every_link_gets_the_same_401(
        aiohttp_client: Any, make_config: Callable[..., Config], manifest: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    from extension.app import build_app

    config = make_config()
    assert config.server.copilot_secret is None
    client = await aiohttp_client(build_app(config, manifest))
    token = issue_token(SECRET, KEY)
    with caplog.at_level("DEBUG", logger="extension.copilot"):
        for params in ({}, {"URLToken": "support-bot", "auth": token}):
            page = await client.get("/copilot", params=params)
            assert page.status == 401, params
            assert page.headers["Content-Type"] == "text/html; charset=utf-8"
            assert "not valid for this conversation" in await page.text()
    assert "copilot page refused: Copilot links are not configured on this runtime" in caplog.text
    assert token not in caplog.text


async def test_after_its_handover_ends_the_link_shows_that_handover_not_what_came_later(demo: Demo) -> None:
    async with aiohttp.ClientSession() as http:
        cid, attributes = await _handover(demo, http, user="u-ended")
        link = attributes["copilotUrl"]
        await demo.emulator.agent.accept(cid)
        await demo.emulator.agent.reply(cid, "Anna here, sorted")

        async def page() -> str:
            async with http.get(link) as answer:
                assert answer.status == 200
                return await answer.text()

        await eventually(lambda: _contains(page, "Anna here, sorted"))
        await demo.emulator.agent.end(cid)
        await eventually(lambda: _contains(page, 'data-state="ended"'))
        await _say(demo, http, "u-ended", "something for the bot only")
        body = await page()
        assert "The agent ended this conversation" in body and cid in body
        assert "Anna here, sorted" in body and "I did something" in body
        assert "something for the bot only" not in body
        assert "u-ended" not in body  # the page shows no ids either


async def _contains(page: Callable[[], Any], text: str) -> bool:
    return text in await page()
