"""Genesys Cloud regions: turn the configured `host` into API and login base URLs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import closest_names

# The API host of every Genesys Cloud region, named as the official SDK names them
# (PureCloudPlatformClientV2 `purecloud_region_hosts.py`; a test keeps this equal to the newest SDK).
# The login host of a region is its API host with `api.` swapped for `login.`.
REGION_API_HOSTS: dict[str, str] = {
    "us_east_1": "api.mypurecloud.com",
    "eu_west_1": "api.mypurecloud.ie",
    "ap_southeast_2": "api.mypurecloud.com.au",
    "ap_northeast_1": "api.mypurecloud.jp",
    "eu_central_1": "api.mypurecloud.de",
    "us_west_2": "api.usw2.pure.cloud",
    "ca_central_1": "api.cac1.pure.cloud",
    "ap_northeast_2": "api.apne2.pure.cloud",
    "eu_west_2": "api.euw2.pure.cloud",
    "ap_south_1": "api.aps1.pure.cloud",
    "us_east_2": "api.use2.us-gov-pure.cloud",
    "sa_east_1": "api.sae1.pure.cloud",
    "me_central_1": "api.mec1.pure.cloud",
    "ap_northeast_3": "api.apne3.pure.cloud",
    "eu_central_2": "api.euc2.pure.cloud",
    "mx_central_1": "api.mxc1.pure.cloud",
    "ap_southeast_1": "api.apse1.pure.cloud",
    "eusc_de_east_1": "api.edee1.eusc-pure.cloud",
}
KNOWN_DOMAINS = frozenset(host.removeprefix("api.") for host in REGION_API_HOSTS.values())

# Service prefixes people copy from the browser bar or the docs along with the domain.
_SERVICE_PREFIXES = ("api.", "apps.", "login.", "api-downloads.")
# A host under a Genesys domain: a region domain, a typo of one, or one with an extra label.
_GENESYS_LIKE = re.compile(
    r"(?:^|\.)(?:mypurecloud\.[a-z]{2,}(?:\.[a-z]{2,})?|(?:[a-z0-9]+-)*pure\.cloud)$"
)
_HOSTNAME = re.compile(r"^[a-z0-9.-]+$")


@dataclass(frozen=True)
class Region:
    """Where to send API and login calls for one Genesys Cloud organisation."""

    api_base: str
    login_base: str
    domain: str
    known: bool  # a Genesys Cloud region (every accepted Genesys domain is one)
    custom: bool  # an emulator or proxy URL, used as given


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
    if domain in KNOWN_DOMAINS:
        # Genesys only serves HTTPS on its standard port; scheme, port and path are ignored.
        return Region(
            api_base=f"https://api.{domain}",
            login_base=f"https://login.{domain}",
            domain=domain,
            known=True,
            custom=False,
        )
    if _GENESYS_LIKE.search(hostname):
        raise ValueError(
            f"Genesys host {text!r} is not a Genesys Cloud region domain "
            f"(did you mean {closest_names(domain, KNOWN_DOMAINS)[0]!r}?)"
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

