"""The doctor's checks, in the order a Genesys Cloud setup is done; each failure carries a fix."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import aiohttp

from ..genesys import (
    GenesysAuthError,
    GenesysClient,
    GenesysError,
    GenesysForbidden,
    GenesysLookupError,
    GenesysUnavailable,
    Integration,
    NotificationChannel,
    Region,
    RetryPolicy,
    resolve_region,
)
from ..genesys.errors import closest_names
from ..genesys.notifications_topics import conversation_topic
from ..genesys.regions import KNOWN_DOMAINS
from ..providers.genesys_flags import om_disabled_reason
from ..providers.genesys_om.webhook import webhook_path
from .loading import DoctorConfig

PASS, FAIL, SKIP = "pass", "fail", "skip"
MIN_SECRET = 16
# The doctor is interactive: one quick retry, then report.
RETRY = RetryPolicy(max_attempts=2, max_total_seconds=10.0, backoff_base=0.2, backoff_max=1.0, jitter=0.1)
TIMEOUT = 10.0
# Assumed: Genesys checks the permission of a topic's family, so a made-up conversation id serves.
PROBE_CONVERSATION = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class Check:
    """One line of the checklist."""

    id: str
    title: str
    status: str
    detail: str
    hint: str | None = None
    connection: str | None = None


class Checklist:
    """The checks of one connection; a check that needs a failed one is skipped, saying why."""

    def __init__(self, connection: str | None) -> None:
        self.connection = connection
        self.checks: list[Check] = []

    def add(self, id: str, title: str, ok: bool, detail: str, hint: str | None = None) -> bool:
        self.checks.append(Check(id, title, PASS if ok else FAIL, detail, None if ok else hint, self.connection))
        return ok

    def skip(self, id: str, title: str, why: str) -> None:
        self.checks.append(Check(id, title, SKIP, f"not checked: {why}", None, self.connection))


def _text(values: dict[str, Any], key: str) -> str:
    value = values.get(key)
    return value.strip() if isinstance(value, str) else ""


def network_hint(exc: GenesysError) -> str:
    """The fix for a Genesys host this machine cannot reach (never a wrong region or secret)."""
    if "DNS" in exc.message:
        return ("Check that host names your organisation's region and that this machine can resolve it "
                "(DNS), then run the doctor again.")
    return ("Check the network between this machine and Genesys Cloud (a firewall or proxy in the way, TLS "
            "interception, no outbound access), then run the doctor again.")


def api_hint(exc: GenesysError, permission: str) -> str:
    """The fix for a Genesys API call that failed, naming the permission it needs."""
    if isinstance(exc, GenesysUnavailable):
        return network_hint(exc)
    if isinstance(exc, GenesysForbidden):
        return f"Give the OAuth client's role the {permission} permission."
    if exc.status is None or exc.status == 429 or exc.status >= 500:
        return "Genesys Cloud is busy or unreachable right now: run the doctor again in a minute."
    return "Genesys Cloud refused the request; its message above says why."


def check_region(run: Checklist, host: str) -> Region | None:
    title = "region host"
    if not host:
        run.add("region", title, False, "host is missing",
                "Set host to your organisation's region, e.g. mypurecloud.de.")
        return None
    try:
        region = resolve_region(host)
    except ValueError as exc:
        run.add("region", title, False, str(exc),
                "Use the region's domain, e.g. mypurecloud.de or usw2.pure.cloud (what follows 'apps.' in the "
                "address of Genesys Cloud in your browser).")
        return None
    if region.custom:
        run.add("region", title, True, f"{region.api_base} is not a Genesys domain: used as-is (emulator or proxy)")
    else:
        closest = closest_names(region.domain, KNOWN_DOMAINS)[:3]
        run.add("region", title, region.known, f"{region.domain} is {'a' if region.known else 'not a'} known "
                "Genesys Cloud region", f"Use your organisation's region domain; the closest known ones are "
                f"{', '.join(closest)}.")
    return region


async def check_token(run: Checklist, client: GenesysClient) -> bool:
    title = "access token (OAuth client credentials)"
    try:
        await client.tokens.get()
    except GenesysAuthError as exc:
        if exc.likely_cause == "network":
            return run.add("token", title, False, exc.message, network_hint(exc))
        if exc.likely_cause == "credentials":
            # A login service of the wrong region answers exactly like the right one given a wrong
            # secret (invalid_client), so the doctor cannot tell the two apart: it names both.
            hint = (f"Wrong client id or secret, or wrong region: the login service at {client.region.login_base} "
                    "does not accept this client. Copy clientId and clientSecret from Admin > Integrations > "
                    "OAuth (grant type Client Credentials), and set host to the region of the organisation that "
                    "client belongs to (what follows 'apps.' in the address of Genesys Cloud in your browser).")
        else:
            hint = (f"Wrong region: {client.region.login_base} does not answer as a Genesys Cloud login service. "
                    "Set host to your organisation's region domain.")
        return run.add("token", title, False, exc.message, hint)
    except GenesysError as exc:
        return run.add("token", title, False, exc.message, api_hint(exc, "OAuth"))
    return run.add("token", title, True, f"obtained from {client.region.login_base}")


async def check_integration(run: Checklist, client: GenesysClient, name: str) -> Integration | None:
    title = f"integration {name!r} exists"
    if not name:
        run.add("integration", "integration exists", False, "deploymentName is missing",
                "Set deploymentName to the name of the Open Messaging integration.")
        return None
    try:
        integration = await client.find_integration(name)
    except GenesysLookupError as exc:
        names = exc.available
        detail = (f"no Open Messaging integration is named {name!r}; existing ones, closest first: "
                  f"{', '.join(repr(n) for n in names[:5])}" if names
                  else "the organisation has no Open Messaging integration")
        hint = (f"Set deploymentName to the exact name of the integration (did you mean {names[0]!r}?)." if names
                else "Create an Open Messaging integration in Admin > Message > Platforms, then name it in "
                     "deploymentName.")
        run.add("integration", title, False, detail, hint)
        return None
    except GenesysError as exc:
        run.add("integration", title, False, exc.message, api_hint(exc, "messaging:integration:view"))
        return None
    run.add("integration", title, True, f"id {integration.id}")
    return integration


def check_created(run: Checklist, integration: Integration) -> None:
    status = integration.create_status
    hint = {"Initiated": "Genesys Cloud is still creating it: wait a minute, then run the doctor again.",
            "Error": "Genesys Cloud could not create it: delete the integration and create it again."}
    run.add("integration_created", "integration is created", status == "Completed", f"createStatus is {status!r}",
            hint.get(status or "", "Open the integration in Admin > Message > Platforms and check its status."))


def check_webhook_url(run: Checklist, integration: Integration, public_url: str | None) -> None:
    title = "integration webhook URL"
    if public_url is None:
        run.add("webhook_url", title, False, "server.public_url is not set, so the expected URL is unknown",
                "Set [server] public_url to the https address at which Genesys Cloud reaches this runtime.")
        return
    expected = public_url.rstrip("/") + webhook_path()
    actual = integration.webhook_url
    detail = (f"{actual} as expected" if actual == expected
              else f"the integration posts to {actual or 'nothing'}, but this runtime receives at {expected}")
    run.add("webhook_url", title, actual == expected, detail,
            f"Set the integration's Outbound Notification Webhook URL to {expected} (or correct server.public_url); "
            "`genesys-om doctor --fix` can set it for you.")


async def check_flow(run: Checklist, client: GenesysClient, integration: Integration) -> None:
    title = "integration linked to a message flow"
    hint = ("Link an Architect inbound message flow to the integration in Admin > Message > Message Routing; the "
            "flow routes to the queue (it can read the 'queue' participant data). Without it no agent sees the "
            "conversation.")
    if not integration.recipient_id:
        run.add("flow", title, False, "the integration has no message routing recipient", hint)
        return
    try:
        recipient = await client.get_message_recipient(integration.recipient_id)
    except GenesysError as exc:
        run.add("flow", title, False, exc.message, api_hint(exc, "routing:message:view"))
        return
    flow = recipient.get("flow")
    linked = isinstance(flow, dict) and bool(flow.get("id"))
    name = (flow.get("name") or flow.get("id")) if isinstance(flow, dict) else None
    run.add("flow", title, linked, f"linked to the flow {name!r}" if linked else "no message flow is linked", hint)


async def check_queue(run: Checklist, client: GenesysClient, name: str) -> None:
    title = f"queue {name!r} exists"
    if not name:
        run.add("queue", "queue exists", False, "queue is missing", "Set queue to the name of a Genesys queue.")
        return
    try:
        queue = await client.find_queue(name)
    except GenesysLookupError as exc:
        names = exc.available
        detail = f"no queue is named {name!r}" + (
            f"; existing ones, closest first: {', '.join(repr(n) for n in names[:5])}" if names else "")
        run.add("queue", title, False, detail,
                f"Set queue to the exact name of a queue{f' (did you mean {names[0]!r}?)' if names else ''}.")
        return
    except GenesysError as exc:
        run.add("queue", title, False, exc.message, api_hint(exc, "routing:queue:view"))
        return
    run.add("queue", title, True, f"id {queue.id}")


async def check_notifications(run: Checklist, client: GenesysClient) -> NotificationChannel | None:
    title = "notifications channel can be created"
    try:
        channel = await client.create_notification_channel()
    except GenesysError as exc:
        run.add("notifications", title, False, exc.message,
                api_hint(exc, "notifications") + " An OAuth client has at most 20 channels at a time.")
        return None
    run.add("notifications", title, True, f"created {channel.id} (it expires by itself)")
    return channel


async def check_notification_permissions(run: Checklist, client: GenesysClient,
                                         channel: NotificationChannel | None) -> None:
    """Subscribe the doctor's channel to one real conversation topic, then drop its subscriptions."""
    title = "conversation end events can be subscribed"
    if channel is None:
        run.skip("notification_permissions", title, "needs a notifications channel")
        return
    topic = conversation_topic(PROBE_CONVERSATION, "user.end")
    try:
        rejected = await client.replace_subscriptions(channel.id, [topic])
    except GenesysError as exc:
        run.add("notification_permissions", title, False, exc.message,
                api_hint(exc, "analytics:conversationDetail:view"))
        return
    # The API deletes no channel: emptied, it expires by itself, and being unconnected it is the
    # first one Genesys removes when the OAuth client needs room for another.
    with contextlib.suppress(GenesysError):
        await client.remove_subscriptions(channel.id)
    if not rejected:
        run.add("notification_permissions", title, True, "v2.detail.events.conversation.{id}.* topics are accepted")
        return
    missing = sorted({p for r in rejected for p in r.missing_permissions})
    needed = ", ".join(missing) or "the permission Genesys names in its rejection"
    reason = f" ({rejected[0].reason})" if rejected[0].reason else ""
    run.add("notification_permissions", title, False,
            f"Genesys rejects the conversation detail topics{reason}: the OAuth client lacks {needed}",
            f"Add {needed} to a role of the OAuth client (the Roles tab of the client in Admin > Integrations > "
            "OAuth). Without it the runtime is not told when an agent ends a conversation: only its reconciler "
            "finds out, later.")


def check_flags(run: Checklist, config: DoctorConfig, name: str) -> None:
    title = "feature flags"
    organisations = sorted({str(e.get("organisation") or "") for e in config.endpoints if e.get("handover") == name})
    if not organisations:
        run.add("flags", title, True, "no endpoint hands over through this connection")
        return
    reasons = [r for org in organisations if (r := om_disabled_reason(config.flags, org))]
    shown = ", ".join(repr(o) for o in organisations)
    run.add("flags", title, not reasons,
            f"the handover is on for {shown}" if not reasons else f"the handover is off for {shown}",
            "To enable it, " + "; ".join(reasons) + ".")


def check_secret(run: Checklist, values: dict[str, Any]) -> None:
    secret = values.get("webhookSecret")
    size = len(secret) if isinstance(secret, str) else 0
    ok = size >= MIN_SECRET
    # The length is shown, never the value.
    detail = "more than 15 characters" if ok else ("webhookSecret is missing" if not size
                                                   else f"webhookSecret has only {size} characters")
    run.add("webhook_secret", "webhook secret longer than 15 characters", ok, detail,
            "Genesys Cloud needs more than 15 characters: choose a longer secret, set it as the integration's "
            "outbound webhook signature secret and as webhookSecret.")


async def check_connection(config: DoctorConfig, name: str, session: aiohttp.ClientSession) -> list[Check]:
    """Every check of one connection, skipping those that need an earlier one that failed."""
    values = config.connections[name]
    run = Checklist(name)
    region = check_region(run, _text(values, "host"))
    client = None
    if region is not None:
        client = GenesysClient(session, region, _text(values, "clientId"), _text(values, "clientSecret"),
                               retry=RETRY, request_timeout=TIMEOUT)
    token_ok = client is not None and await check_token(run, client)
    if client is None or not token_ok:
        why = "needs a valid region host" if client is None else "needs an access token"
        if client is None:
            run.skip("token", "access token (OAuth client credentials)", why)
        for id, title in (("integration", "integration exists"), ("integration_created", "integration is created"),
                          ("webhook_url", "integration webhook URL"),
                          ("flow", "integration linked to a message flow"), ("queue", "queue exists"),
                          ("notifications", "notifications channel can be created"),
                          ("notification_permissions", "conversation end events can be subscribed")):
            run.skip(id, title, why)
    else:
        integration = await check_integration(run, client, _text(values, "deploymentName"))
        if integration is None:
            for id, title in (("integration_created", "integration is created"),
                              ("webhook_url", "integration webhook URL"),
                              ("flow", "integration linked to a message flow")):
                run.skip(id, title, "needs the integration")
        else:
            check_created(run, integration)
            check_webhook_url(run, integration, config.public_url)
            await check_flow(run, client, integration)
        await check_queue(run, client, _text(values, "queue"))
        await check_notification_permissions(run, client, await check_notifications(run, client))
    check_flags(run, config, name)
    check_secret(run, values)
    return run.checks
