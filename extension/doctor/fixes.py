"""`genesys-om doctor --fix`: set the integration's webhook URL and signature secret through the API.

Both mistakes are easy to make in the Genesys admin UI and silent at run time (every agent message
is simply lost), so the doctor offers to set them with
`PATCH /api/v2/conversations/messaging/integrations/open/{id}` (the SDK's
OpenIntegrationUpdateRequest: `outboundNotificationWebhookUrl`,
`outboundNotificationWebhookSignatureSecretToken`). It says what it will change, never the secret,
and changes nothing without a yes.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from ..genesys import GenesysClient, GenesysError, Integration, resolve_region
from ..manifest import Manifest, load_manifest
from ..providers.genesys_om.webhook import webhook_path
from .bot_connector import plan_bot_lists
from .changes import Change, Fix
from .checks import MIN_SECRET, RETRY, TIMEOUT, Check, Checklist, check_webhook_url
from .loading import DoctorConfig, load_for_doctor

URL_FIELD = "outboundNotificationWebhookUrl"
SECRET_FIELD = "outboundNotificationWebhookSignatureSecretToken"  # noqa: S105 - a field name

# Asked once per integration with the question; True applies, False declines, None: cannot ask.
Ask = Callable[[str], bool | None]
QUESTION = "Apply these changes to the integration in Genesys Cloud? [y/N] "
NOT_ASKED = ("not changed: the doctor asks before it changes anything, and stdin is not a terminal; "
             "run it again with --fix --yes to apply these changes")


def _masked(value: Any) -> bool:
    """True when Genesys does not show a usable secret (absent, empty, or starred out)."""
    return not isinstance(value, str) or not value.strip("*")


def integration_changes(integration: Integration, public_url: str | None,
                        secret: Any) -> tuple[list[Change], list[str]]:
    """What to set on the integration so it posts to this runtime with webhookSecret; and notes."""
    changes: list[Change] = []
    notes: list[str] = []
    if public_url is None:
        notes.append("the webhook URL is not set: server.public_url is missing")
    else:
        expected = public_url.rstrip("/") + webhook_path()
        if integration.webhook_url != expected:
            changes.append(Change(URL_FIELD, "outbound notification webhook URL",
                                  f"{integration.webhook_url or '(none)'} -> {expected}", expected))
    if not isinstance(secret, str) or len(secret) < MIN_SECRET:
        notes.append("the signature secret is not set: webhookSecret needs more than 15 characters first")
        return changes, notes
    current = integration.raw.get(SECRET_FIELD)
    if _masked(current):
        # Genesys does not show the secret the integration signs with: set it, to be sure.
        changes.append(Change(SECRET_FIELD, "outbound notification webhook signature secret",
                              "set to the value of webhookSecret (Genesys does not show the current one; "
                              "the value is not printed)", secret))
    elif not hmac.compare_digest(str(current).encode(), secret.encode()):
        changes.append(Change(SECRET_FIELD, "outbound notification webhook signature secret",
                              "differs from webhookSecret: set to webhookSecret (the value is not printed)", secret))
    return changes, notes


async def plan(config: DoctorConfig, session: aiohttp.ClientSession) -> list[Fix]:
    """One Fix per connection whose integration can be read; the checklist tells why any other cannot."""
    fixes = []
    for name, values in config.connections.items():
        try:
            region = resolve_region(str(values.get("host") or "").strip())
        except ValueError:
            continue
        client = GenesysClient(session, region, str(values.get("clientId") or "").strip(),
                               str(values.get("clientSecret") or "").strip(), retry=RETRY, request_timeout=TIMEOUT)
        try:
            integration = await client.find_integration(str(values.get("deploymentName") or "").strip())
        except GenesysError:
            continue
        changes, notes = integration_changes(integration, config.public_url, values.get("webhookSecret"))
        fixes.append(Fix(name, integration, changes, client, notes, config.public_url))
    return fixes


def describe(fix: Fix) -> list[str]:
    """What `--fix` will change on one integration (no secret in it)."""
    head = f"connection {fix.connection!r}: integration {fix.integration.name!r} ({fix.integration.id})"
    if fix.connection.startswith("endpoint "):
        head = f"{fix.connection}: Bot Connector integration {fix.integration.id}"
    if not fix.changes:
        return [f"{head}: nothing to change"] + [f"  note: {n}" for n in fix.notes]
    return ([f"{head}: will set"] + [f"  - {c.label}: {c.shown}" for c in fix.changes]
            + [f"  note: {n}" for n in fix.notes])


async def apply(fix: Fix) -> None:
    """PATCH the integration with the changes (or PUT its bot list); the outcome is recorded on the Fix."""
    try:
        if fix.bots is not None:
            await fix.client.put_bot_list(fix.integration.id, fix.bots)
        else:
            fix.updated = await fix.client.update_integration(fix.integration.id,
                                                              {c.name: c.value for c in fix.changes})
    except GenesysError as exc:
        error = str(exc)
        for change in fix.changes:  # defensive: an answer might echo what it refused
            if change.value:
                error = error.replace(change.value, "***")
        fix.outcome, fix.error = "failed", error
        return
    fix.outcome = "applied"


def terminal_ask(stdin: TextIO | None, prompt_to: TextIO, *, yes: bool) -> Ask:
    """Ask on a terminal; `--yes` answers for it; without a terminal, nothing is asked (None)."""
    def ask(question: str) -> bool | None:
        if yes:
            return True
        try:
            interactive = stdin is not None and stdin.isatty()
        except (AttributeError, OSError, ValueError):
            interactive = False
        if not interactive or stdin is None:
            return None
        prompt_to.write(question)
        prompt_to.flush()
        return stdin.readline().strip().lower() in ("y", "yes")

    return ask


async def run_fixes(path: Path, ask: Ask, say: Callable[[str], None], *, connection: str | None = None,
                    env: Mapping[str, str] | None = None, manifest: Manifest | None = None) -> list[Fix]:
    """Plan, show, ask, then apply the fixes of each connection; ConfigError as for the checks."""
    config = load_for_doctor(path, manifest or load_manifest(), env, connection)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session:
        fixes = await plan(config, session) + await plan_bot_lists(config, session)
        for fix in fixes:
            for line in describe(fix):
                say(line)
            if not fix.changes:
                fix.outcome = "nothing to do"
                continue
            answer = await asyncio.to_thread(ask, QUESTION)
            if answer is None:
                fix.outcome = "not asked"
                say(f"  {NOT_ASKED}")
            elif not answer:
                fix.outcome = "declined"
                say("  not changed")
            else:
                await apply(fix)
                say("  changed" if fix.outcome == "applied" else f"  not changed: {fix.error}")
    return fixes


def fixes_json(fixes: list[Fix]) -> list[dict[str, Any]]:
    """The fixes for `--json`: fields and outcomes, no secret."""
    return [{"connection": f.connection, "integrationId": f.integration.id, "outcome": f.outcome,
             "error": f.error, "notes": f.notes,
             "changes": [{"field": c.name, "change": c.shown} for c in f.changes]} for f in fixes]


def recheck(checks: list[Check], fixes: list[Fix]) -> list[Check]:
    """The checklist with the webhook URL checked again on each integration as Genesys now has it.

    The other checks are kept: running them all again would create another notifications channel.
    """
    fresh: dict[str | None, Check] = {}
    for fix in fixes:
        if fix.updated is not None:
            run = Checklist(fix.connection)
            check_webhook_url(run, fix.updated, fix.public_url)
            fresh[fix.connection] = run.checks[0]
    return [fresh.get(c.connection, c) if c.id == "webhook_url" else c for c in checks]
