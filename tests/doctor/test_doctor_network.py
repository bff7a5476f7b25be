"""The doctor on a network failure says the network, not a wrong region or a wrong secret."""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.client_reqrep import ConnectionKey
from aioresponses import aioresponses
from genesys.conftest import mocked

from doctor.helpers import Doctor

from support import free_port

__all__ = ["mocked"]  # a fixture

LOGIN = "https://login.mypurecloud.de/oauth/token"
API = "https://api.mypurecloud.de"
NOT_THE_REGION = ("Wrong region", "wrong region", "client id or secret")


def key(host: str) -> ConnectionKey:
    empty = ConnectionKey(*([None] * len(ConnectionKey._fields)))
    return empty._replace(host=host, port=443, is_ssl=True)


def self_signed() -> ssl.SSLCertVerificationError:
    """What a TLS-intercepting proxy's certificate gives."""
    error = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                                            "self-signed certificate in certificate chain (_ssl.c:1000)")
    error.verify_message = "self-signed certificate in certificate chain"
    return error


def assert_network(check: Any, detail: str) -> None:
    assert check.status == "fail" and check.detail == detail
    assert "network" in (check.hint or "") or "DNS" in (check.hint or "")
    for wrong in NOT_THE_REGION:
        assert wrong not in (check.hint or "") + check.detail


async def test_a_refused_connection_is_the_network(doctor: Doctor) -> None:
    port = free_port()
    checks = await doctor(host=f"http://127.0.0.1:{port}")
    assert_network(checks["token"], f"cannot reach 127.0.0.1:{port}: connection refused")
    assert checks["integration"].detail == "not checked: needs an access token"


@pytest.mark.parametrize(("failure", "said"), [
    (aiohttp.ClientConnectorDNSError(key("login.mypurecloud.de"), socket.gaierror(-2, "Name or service not known")),
     "DNS lookup failed (no such host, or no DNS)"),
    (aiohttp.ClientConnectorCertificateError(key("login.mypurecloud.de"), self_signed()),
     "TLS certificate not accepted (self-signed certificate in certificate chain)"),
    (TimeoutError(), "timeout (no answer in time)"),
])
async def test_dns_tls_and_timeouts_are_the_network(doctor: Doctor, mocked: aioresponses,
                                                    failure: Exception, said: str) -> None:
    mocked.post(LOGIN, exception=failure, repeat=True)
    checks = await doctor(host="mypurecloud.de")
    assert checks["region"].status == "pass"
    assert_network(checks["token"], f"cannot reach login.mypurecloud.de: {said}")
    if "DNS" in said:
        assert "resolve" in (checks["token"].hint or "")


async def test_an_api_host_out_of_reach_after_the_token(doctor: Doctor, mocked: aioresponses) -> None:
    mocked.post(LOGIN, payload={"access_token": "t", "expires_in": 3600}, repeat=True)
    refused = aiohttp.ClientConnectorError(key("api.mypurecloud.de"),
                                           ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed"))
    mocked.get(f"{API}/api/v2/conversations/messaging/integrations/open?pageNumber=1&pageSize=100",
               exception=refused, repeat=True)
    mocked.get(f"{API}/api/v2/routing/queues?name=Support&pageSize=100", exception=refused, repeat=True)
    mocked.post(f"{API}/api/v2/notifications/channels", exception=refused, repeat=True)
    checks = await doctor(host="mypurecloud.de")
    assert checks["token"].status == "pass"
    for check in ("integration", "queue", "notifications"):
        assert_network(checks[check], "cannot reach api.mypurecloud.de: connection refused")


async def test_a_host_that_answers_but_is_no_login_service_is_the_region(
        doctor: Doctor, aiohttp_server: Callable[..., Awaitable[Any]]) -> None:
    server = await aiohttp_server(web.Application())  # 404 for /oauth/token
    checks = await doctor(host=str(server.make_url("")).rstrip("/"))
    assert checks["token"].status == "fail" and "Wrong region" in (checks["token"].hint or "")
