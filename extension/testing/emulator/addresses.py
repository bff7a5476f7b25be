"""Listen addresses and the URLs that reach them (the emulator's and the demo's)."""

from __future__ import annotations

# A wildcard address listens everywhere but cannot be browsed to: its loopback twin can.
_WILDCARDS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1", "[::]": "::1"}


def reachable_host(host: str) -> str:
    """The address to connect to for a server listening on `host`."""
    return _WILDCARDS.get(host, host)


def http_url(host: str, port: int) -> str:
    """`http://host:port` of a server listening on host:port, reachable from this machine."""
    target = reachable_host(host).strip("[]")
    return f"http://[{target}]:{port}" if ":" in target else f"http://{target}:{port}"
