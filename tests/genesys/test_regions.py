"""Region host normalisation (docs/CONTRACT.md 2.2)."""

from __future__ import annotations

import aiohttp
import pytest
from aioresponses import aioresponses

from extension.genesys import GenesysClient, RetryPolicy
from extension.genesys.regions import KNOWN_DOMAINS, Region, resolve_region

from .conftest import CLIENT_ID, CLIENT_SECRET, TOKEN

DE = Region("https://api.mypurecloud.de", "https://login.mypurecloud.de", "mypurecloud.de",
            known=True, custom=False)


@pytest.mark.parametrize(
    "host",
    [
        "mypurecloud.de",
        "https://apps.mypurecloud.de/",
        "login.mypurecloud.de",
        "api.mypurecloud.de",
        "https://api.mypurecloud.de",
        "  MyPureCloud.DE  ",
        "https://apps.mypurecloud.de/directory/#/engage/admin",
        "mypurecloud.de.",
        "http://login.mypurecloud.de:443",
    ],
)
def test_every_spelling_of_a_region_gives_the_same_bases(host: str) -> None:
    assert resolve_region(host) == DE


@pytest.mark.parametrize("domain", sorted(KNOWN_DOMAINS))
def test_every_sdk_region_is_known(domain: str) -> None:
    region = resolve_region(f"apps.{domain}")
    assert region == Region(f"https://api.{domain}", f"https://login.{domain}", domain,
                            known=True, custom=False)


@pytest.mark.parametrize("host", ["edee1.eusc-pure.cloud", "https://apps.edee1.eusc-pure.cloud/",
                                  "api.edee1.eusc-pure.cloud", "login.edee1.eusc-pure.cloud"])
def test_the_eu_sovereign_cloud_is_a_region(host: str) -> None:
    assert resolve_region(host) == Region("https://api.edee1.eusc-pure.cloud",
                                          "https://login.edee1.eusc-pure.cloud", "edee1.eusc-pure.cloud",
                                          known=True, custom=False)


@pytest.mark.parametrize(
    ("host", "suggestion"),
    [("mypurecloud.dee", "mypurecloud.de"), ("mypurecloud.co", "mypurecloud.com"),
     ("usw3.pure.cloud", "usw2.pure.cloud"), ("https://apps.edee2.eusc-pure.cloud", "edee1.eusc-pure.cloud"),
     ("api.usw2.us-gov-pure.cloud", "use2.us-gov-pure.cloud"), ("x.mypurecloud.de", "mypurecloud.de"),
     ("pure.cloud", None)],
)
def test_an_unknown_genesys_looking_domain_is_refused_with_the_closest_region(
    host: str, suggestion: str | None
) -> None:
    with pytest.raises(ValueError, match="is not a Genesys Cloud region domain") as caught:
        resolve_region(host)
    if suggestion is not None:
        assert f"(did you mean {suggestion!r}?)" in str(caught.value)


async def test_the_eu_sovereign_cloud_is_called_on_its_own_hosts(
    mocked: aioresponses, session: aiohttp.ClientSession, policy: RetryPolicy
) -> None:
    client = GenesysClient(session, resolve_region("edee1.eusc-pure.cloud"), CLIENT_ID, CLIENT_SECRET,
                           retry=policy)
    mocked.post("https://login.edee1.eusc-pure.cloud/oauth/token",
                payload={"access_token": TOKEN, "token_type": "bearer", "expires_in": 86399})
    mocked.get("https://api.edee1.eusc-pure.cloud/api/v2/conversations/messaging/integrations/open"
               "?pageSize=100&pageNumber=1",
               payload={"entities": [{"id": "i-1", "name": "BotHandover"}], "pageNumber": 1, "pageCount": 1})
    assert [i.name for i in await client.list_integrations()] == ["BotHandover"]


@pytest.mark.parametrize(
    ("host", "base", "domain"),
    [
        ("http://127.0.0.1:9100", "http://127.0.0.1:9100", "127.0.0.1:9100"),
        ("http://127.0.0.1:9100/", "http://127.0.0.1:9100", "127.0.0.1:9100"),
        ("https://proxy.corp.example/genesys/", "https://proxy.corp.example/genesys",
         "proxy.corp.example"),
        ("http://localhost:8080", "http://localhost:8080", "localhost:8080"),
        # Only the exact shape of a Genesys domain counts: this one is somebody else's host.
        ("https://api.mypurecloud.de.example.com", "https://api.mypurecloud.de.example.com",
         "api.mypurecloud.de.example.com"),
    ],
)
def test_a_non_genesys_url_is_used_as_is_for_both_bases(host: str, base: str, domain: str) -> None:
    assert resolve_region(host) == Region(base, base, domain, known=False, custom=True)


@pytest.mark.parametrize(
    ("host", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (None, "empty"),
        ("foo bar", "spaces"),
        ("ftp://mypurecloud.de", "http and https"),
        ("http://", "no host"),
        ("example.com", "full URL"),
        ("127.0.0.1:9100", "full URL"),
        ("http://host:99999", "not a valid URL"),
        ("https://example.com/?a=1", "usable base URL"),
    ],
)
def test_garbage_is_refused_with_a_clear_message(host: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        resolve_region(host)  # type: ignore[arg-type]


def test_credentials_in_a_url_are_refused_without_echoing_them() -> None:
    with pytest.raises(ValueError) as caught:
        resolve_region("https://user:hunter2@proxy.example")
    assert "hunter2" not in str(caught.value)
