"""Error mapping: every HTTP failure becomes the right exception carrying what Genesys said."""

from __future__ import annotations

import aiohttp
import pytest
from aioresponses import aioresponses

from extension.genesys import (
    GenesysAuthError,
    GenesysClient,
    GenesysClientError,
    GenesysError,
    GenesysForbidden,
    GenesysLookupError,
    GenesysNotFound,
    GenesysRateLimited,
    GenesysServerError,
    RetryPolicy,
)
from extension.genesys.errors import closest_names, error_from_response, parse_retry_after

from .conftest import API, CLIENT_ID, CLIENT_SECRET, REGION, grant_token

PATH = "/api/v2/conversations/messages/conv-1"


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "bad.request", GenesysClientError),
        (400, "invalid.value", GenesysClientError),
        (401, "authentication.required", GenesysAuthError),
        (403, "missing.permissions", GenesysForbidden),
        (404, "not.found", GenesysNotFound),
        (429, "too.many.requests", GenesysRateLimited),
        (500, "internal.server.error", GenesysServerError),
        (503, "service.unavailable", GenesysServerError),
        (504, "request.timeout", GenesysServerError),
    ],
)
async def test_each_status_maps_to_its_exception_with_every_detail(
    mocked: aioresponses, session: aiohttp.ClientSession, status: int, code: str,
    kind: type[GenesysError],
) -> None:
    # One attempt only: this test is about the mapping, not the retries.
    client = GenesysClient(session, REGION, CLIENT_ID, CLIENT_SECRET,
                           retry=RetryPolicy(max_attempts=1))
    grant_token(mocked, repeat=True)
    mocked.get(f"{API}{PATH}", status=status, repeat=True, headers={
        "Genesys-Correlation-Id": "corr-42", "Retry-After": "3"}, payload={
        "message": f"Something about {code}", "code": code, "status": status,
        "contextId": "ctx-9", "details": [], "errors": []})

    with pytest.raises(kind) as caught:
        await client.get_message_conversation("conv-1")

    error = caught.value
    assert (error.status, error.code, error.message) == (status, code, f"Something about {code}")
    assert (error.context_id, error.correlation_id) == ("ctx-9", "corr-42")
    assert (error.method, error.path) == ("GET", PATH)
    text = str(error)
    assert "\n" not in text
    for part in ("GET", PATH, str(status), code, f"Something about {code}", "ctx-9", "corr-42"):
        assert part in text


def test_the_correlation_id_comes_from_the_header_the_sdk_reads() -> None:
    # The official SDK logs `ININ-Correlation-Id`; it wins over the older header name.
    headers = {"ININ-Correlation-Id": "inin-1", "Genesys-Correlation-Id": "other"}
    error = error_from_response(409, b'{"code": "conflict"}', headers, method="PATCH", path=PATH)
    assert (error.code, error.correlation_id) == ("conflict", "inin-1")
    alone = error_from_response(409, b"{}", {"Genesys-Correlation-Id": "corr-1"}, method="PATCH", path=PATH)
    assert alone.correlation_id == "corr-1"


def test_str_is_one_readable_line() -> None:
    error = GenesysNotFound("The requested\n resource was not found.", status=404,
                            code="not.found", context_id="ctx", correlation_id="corr",
                            method="GET", path="/api/v2/x")
    assert str(error) == ("GET /api/v2/x: 404 not.found: The requested resource was not found. "
                          "(contextId=ctx, correlationId=corr)")
    assert repr(error) == f"GenesysNotFound({str(error)!r})"


def test_a_long_html_body_is_cut_short() -> None:
    error = error_from_response(502, b"<html>" + b"x" * 5000 + b"</html>", {},
                                method="GET", path="/p")
    assert isinstance(error, GenesysServerError)
    assert error.message == "HTTP 502"
    assert len(str(GenesysError("y" * 5000))) < 400


def test_the_body_message_falls_back_to_oauth_fields() -> None:
    error = error_from_response(401, b'{"error":"invalid_client","description":"no client"}',
                                {}, method="POST", path="/oauth/token")
    assert (error.code, error.message) == ("invalid_client", "no client")


def test_a_rate_limit_keeps_retry_after() -> None:
    error = error_from_response(429, b"{}", {"Retry-After": "12"}, method="GET", path="/p")
    assert isinstance(error, GenesysRateLimited) and error.retry_after == 12


@pytest.mark.parametrize(("value", "seconds"),
                         [("12", 12.0), (" 3 ", 3.0), ("0", 0.0), (None, None), ("", None),
                          ("abc", None), ("-1", None), ("2.5", None)])
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds


def test_closest_names_are_ordered_by_similarity_ignoring_case() -> None:
    names = ["Billing", "support", "Support EU", "Sales Support", "support"]
    assert closest_names("Support", names) == ("support", "Support EU", "Sales Support",
                                               "Billing")


def test_lookup_error_lists_names_closest_first() -> None:
    error = GenesysLookupError("queue", "Supprt", ["Sales", "Support"])
    assert error.available == ("Support", "Sales")
    assert str(error) == "no queue named 'Supprt'; existing, closest first: 'Support', 'Sales'"
    assert isinstance(error, GenesysError)


def test_lookup_error_without_any_names() -> None:
    assert str(GenesysLookupError("integration", "X", [])).endswith("closest first: none")


def test_auth_error_carries_its_likely_cause_and_hint() -> None:
    error = GenesysAuthError("token request refused", likely_cause="region", status=404)
    assert error.likely_cause == "region"
    assert "region host" in str(error)
