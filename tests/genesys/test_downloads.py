"""Downloads of agent files: the token to the API host only, the redirect followed without it, streamed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aioresponses import aioresponses

from extension.genesys import GenesysBadResponse, GenesysClient, GenesysNotFound, resolve_region
from extension.genesys.downloads import is_download_url
from extension.testing.emulator import Emulator, EmulatorConfig
from extension.testing.emulator.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from extension.testing.emulator.downloads import SIGNED_URL_SECONDS, host_file

from .conftest import calls, grant_token

DATA = bytes(range(256)) * 1000  # 256 kB: several chunks


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emu = Emulator(EmulatorConfig(), clock=Clock())
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
async def emu_client(emulator: Emulator) -> AsyncIterator[GenesysClient]:
    assert emulator.base_url is not None
    async with aiohttp.ClientSession() as session:
        yield GenesysClient(session, resolve_region(emulator.base_url), DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
                            on_response=lambda method, path, status, _: ANSWERS.append((method, path, status)))


ANSWERS: list[tuple[str, str, int]] = []


def hosted(emulator: Emulator, data: bytes = DATA) -> str:
    assert emulator.base_url is not None
    return str(host_file(emulator.app, emulator.base_url, data, "application/pdf", "terms ü.pdf")["url"])


async def read(client: GenesysClient, url: str) -> tuple[bytes, str, str | None, int | None]:
    async with client.download(url) as download:
        data = b"".join([chunk async for chunk in download.chunks()])
        return data, download.content_type, download.filename, download.content_length


async def test_a_download_follows_the_redirect_without_the_token(emulator: Emulator, emu_client: GenesysClient) -> None:
    url = hosted(emulator)
    assert await read(emu_client, url) == (DATA, "application/pdf", "terms ü.pdf", len(DATA))
    calls = [r for r in emulator.requests if "download" in r.path]
    assert [r.path.split("/")[1] for r in calls] == ["api", "signed-downloads"]
    assert calls[0].headers["Authorization"].startswith("Bearer ")
    assert "Authorization" not in calls[1].headers  # the signed URL would refuse it
    assert ANSWERS[-1] == ("GET", "/api/v2/downloads/{downloadId}", 303)  # the client's metrics hear of it


async def test_a_revoked_token_is_refreshed_once(emulator: Emulator, emu_client: GenesysClient) -> None:
    url = hosted(emulator)
    await read(emu_client, url)
    emulator.faults.revoke_tokens()
    assert (await read(emu_client, url))[0] == DATA
    statuses = [r.status for r in emulator.requests if r.path.startswith("/api/v2/downloads/")]
    assert statuses == [303, 401, 303]


async def test_an_unknown_download_and_a_url_of_elsewhere_fail(emulator: Emulator, emu_client: GenesysClient) -> None:
    assert emulator.base_url is not None
    with pytest.raises(GenesysNotFound):
        await read(emu_client, emulator.base_url + "/api/v2/downloads/nothing-here")
    before = len(emulator.requests)
    for url in ("https://files.example.com/api/v2/downloads/1", emulator.base_url + "/api/v2/conversations"):
        with pytest.raises(GenesysBadResponse):
            await read(emu_client, url)
    assert len(emulator.requests) == before  # the token never left for them


async def test_the_emulators_download_api_needs_a_token_and_its_signed_url_expires(emulator: Emulator) -> None:
    url = hosted(emulator)
    async with aiohttp.ClientSession() as http:
        async with http.get(url, allow_redirects=False) as bare:
            assert bare.status == 401
        token = await GenesysClient(http, resolve_region(str(emulator.base_url)), DEFAULT_CLIENT_ID,
                                    DEFAULT_CLIENT_SECRET).tokens.get()
        async with http.get(url, headers={"Authorization": f"Bearer {token}"}, allow_redirects=False) as redirect:
            assert redirect.status == 303
            signed = redirect.headers["Location"]
        async with http.get(signed) as ok:
            assert ok.status == 200 and await ok.read() == DATA
        async with http.get(signed.replace("signature=", "signature=0")) as changed:
            assert changed.status == 403
        assert isinstance(emulator.clock, Clock)
        emulator.clock.now += SIGNED_URL_SECONDS + 1
        async with http.get(signed) as expired:
            assert expired.status == 403


@pytest.mark.parametrize(("base", "url", "expected"), [
    ("https://api.mypurecloud.de", "https://api-downloads.mypurecloud.de/api/v2/downloads/abc", True),
    ("https://api.mypurecloud.de", "https://api.mypurecloud.de/api/v2/downloads/abc", True),
    ("https://api.mypurecloud.de", "http://api-downloads.mypurecloud.de/api/v2/downloads/abc", False),
    ("https://api.mypurecloud.de", "https://api-downloads.mypurecloud.com/api/v2/downloads/abc", False),
    ("https://api.mypurecloud.de", "https://x@api.mypurecloud.de/api/v2/downloads/abc", False),
    ("https://api.mypurecloud.de", "https://api.mypurecloud.de/api/v2/downloads/", False),
    ("https://api.mypurecloud.de", "https://api.mypurecloud.de/api/v2/users/me", False),
    ("http://127.0.0.1:9100", "http://127.0.0.1:9100/api/v2/downloads/abc", True),
])
def test_which_urls_are_download_urls(base: str, url: str, expected: bool) -> None:
    assert is_download_url(base, url) is expected


async def test_a_redirect_from_https_to_plain_http_is_refused(mocked: aioresponses, client: GenesysClient) -> None:
    grant_token(mocked)
    url = "https://api-downloads.mypurecloud.de/api/v2/downloads/abc"
    mocked.get(url, status=302, headers={"Location": "http://storage.example/abc?sig=secret-signature"})
    with pytest.raises(GenesysBadResponse) as info:
        await read(client, url)
    assert "https" in str(info.value) and "secret-signature" not in str(info.value)


async def test_a_redirect_loop_ends(mocked: aioresponses, client: GenesysClient) -> None:
    grant_token(mocked)
    url = "https://api-downloads.mypurecloud.de/api/v2/downloads/abc"
    mocked.get(url, status=302, headers={"Location": "https://storage.example/a"})
    mocked.get("https://storage.example/a", status=302, headers={"Location": "https://storage.example/a"},
               repeat=True)
    with pytest.raises(GenesysBadResponse):
        await read(client, url)
    assert len(calls(mocked, "GET", "https://storage.example/a")) == 3
