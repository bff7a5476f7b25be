"""Genesys Cloud regions: turn the configured `host` into API and login base URLs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# Genesys Cloud region domains. A domain outside this list is still accepted when it has the shape of a
# Genesys one (regions are added over time); `known=False` lets the doctor flag it.
KNOWN_DOMAINS = frozenset({
    "mypurecloud.com", "mypurecloud.ie", "mypurecloud.com.au", "mypurecloud.jp",
    "mypurecloud.de", "usw2.pure.cloud", "cac1.pure.cloud", "apne2.pure.cloud",
    "euw2.pure.cloud", "aps1.pure.cloud", "use2.us-gov-pure.cloud", "sae1.pure.cloud",
    "mec1.pure.cloud", "apne3.pure.cloud", "euc2.pure.cloud", "mxc1.pure.cloud",
    "apse1.pure.cloud",
})

# Service prefixes people copy from the browser bar or the docs along with the domain.
_SERVICE_PREFIXES = ("api.", "apps.", "login.", "api-downloads.")
_GENESYS_DOMAIN = re.compile(
    r"^(?:mypurecloud\.[a-z]{2,}(?:\.[a-z]{2})?"  # mypurecloud.com, mypurecloud.com.au
    r"|[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.(?:us-gov-)?pure\.cloud)$"  # usw2.pure.cloud
)
# Something under a Genesys domain that is not a region domain itself (a typo, an extra label).
_GENESYS_LIKE = re.compile(r"(?:^|\.)(?:mypurecloud\.[a-z]{2,}(?:\.[a-z]{2})?|pure\.cloud)$")
_HOSTNAME = re.compile(r"^[a-z0-9.-]+$")


@dataclass(frozen=True)
class Region:
    """Where to send API and login calls for one Genesys Cloud organisation."""

    api_base: str
    login_base: str
    domain: str
    known: bool
    custom: bool


def resolve_region(host: str) -> Region:
    """Normalise a region domain, a Genesys URL, or an emulator/proxy URL into a `Region`."""
    text = host.strip() if isinstance(host, str) else ""
    if not text:
        raise ValueError("Genesys host is empty: give a region domain such as mypurecloud.de")
    if any(ch.isspace() for ch in text):
        raise ValueError(f"Genesys host {text!r} contains spaces")
    has_scheme = "://" in text
    parts = urlsplit(text if has_scheme else f"https://{text}")
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"Genesys host {text!r}: only http and https URLs are supported")
    try:
        hostname = (parts.hostname or "").rstrip(".")
        parts.port  # noqa: B018 - urlsplit validates the port lazily, here
    except ValueError as exc:
        raise ValueError(f"Genesys host {text!r} is not a valid URL: {exc}") from None
    if not hostname:
        raise ValueError(f"Genesys host {text!r} has no host name")
    if parts.username or parts.password:
        # Not echoed: the text holds a password.
        raise ValueError(f"Genesys host {hostname!r}: credentials do not belong in the URL")

    domain = _strip_service_prefix(hostname)
    if _GENESYS_DOMAIN.match(domain):
        # Genesys only serves HTTPS on its standard port; scheme, port and path are ignored.
        return Region(
            api_base=f"https://api.{domain}",
            login_base=f"https://login.{domain}",
            domain=domain,
            known=domain in KNOWN_DOMAINS,
            custom=False,
        )
    if _looks_like_genesys(hostname):
        raise ValueError(
            f"Genesys host {text!r} is not a region domain "
            "(expected e.g. mypurecloud.com or usw2.pure.cloud)"
        )
    if not has_scheme:
        # Without a scheme we cannot tell http from https for an emulator or proxy: ask.
        raise ValueError(
            f"Genesys host {text!r} is not a Genesys Cloud domain; for an emulator or proxy "
            "give a full URL such as http://127.0.0.1:9100"
        )
    if parts.query or parts.fragment or (not _HOSTNAME.match(hostname) and ":" not in hostname):
        raise ValueError(f"Genesys host {text!r} is not a usable base URL")
    base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
    return Region(api_base=base, login_base=base, domain=parts.netloc, known=False, custom=True)


def _strip_service_prefix(hostname: str) -> str:
    for prefix in _SERVICE_PREFIXES:
        if hostname.startswith(prefix):
            return hostname[len(prefix):]
    return hostname


def _looks_like_genesys(hostname: str) -> bool:
    return bool(_GENESYS_LIKE.search(hostname))
