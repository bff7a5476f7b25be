"""Region host normalisation (SPEC 3.2)."""

from __future__ import annotations

import pytest

from extension.genesys.regions import KNOWN_DOMAINS, Region, resolve_region

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
def test_every_documented_domain_is_known(domain: str) -> None:
    region = resolve_region(f"apps.{domain}")
    assert region == Region(f"https://api.{domain}", f"https://login.{domain}", domain,
                            known=True, custom=False)


def test_the_documented_list_is_complete() -> None:
    assert len(KNOWN_DOMAINS) == 17
    assert {"mypurecloud.com.au", "use2.us-gov-pure.cloud", "apse1.pure.cloud"} <= KNOWN_DOMAINS


@pytest.mark.parametrize(
    ("host", "domain"),
    [("mypurecloud.xx", "mypurecloud.xx"), ("foo.pure.cloud", "foo.pure.cloud"),
     ("https://apps.zzz9.pure.cloud", "zzz9.pure.cloud")],
)
def test_an_unknown_genesys_looking_domain_is_accepted_but_not_known(
    host: str, domain: str
) -> None:
    region = resolve_region(host)
    assert region.api_base == f"https://api.{domain}"
    assert region.login_base == f"https://login.{domain}"
    assert (region.known, region.custom) == (False, False)


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
        ("pure.cloud", "not a region domain"),
        ("x.mypurecloud.de", "not a region domain"),
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
