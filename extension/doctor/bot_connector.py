"""The doctor's checks of a Genesys Bot Connector endpoint (docs/CONTRACT.md 12)."""

from __future__ import annotations

from typing import Any

import aiohttp

from ..genesys import GenesysClient, GenesysError, Integration, resolve_region
from ..providers.genesys_bot_connector.messages import BOT_VERSION
from ..providers.genesys_bot_connector.settings import ENDPOINT, ENDPOINT_TYPE
from ..secrets import Secret
from .changes import Change, Fix
from .checks import RETRY, TIMEOUT, Check, Checklist, api_hint
from .loading import DoctorConfig

MIN_CREDENTIAL = 16


def bot_connector_endpoints(config: DoctorConfig) -> list[dict[str, Any]]:
    return [e for e in config.endpoints if e.get("type") == ENDPOINT_TYPE]


def _table(endpoint: dict[str, Any]) -> dict[str, Any]:
    table = endpoint.get("botConnector")
    return table if isinstance(table, dict) else {}


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def check_flag(run: Checklist, config: DoctorConfig, endpoint: dict[str, Any]) -> None:
    organisation = str(endpoint.get("organisation") or "")
    reason = ENDPOINT.disabled_reason(config.flags, organisation)
    run.add("bot_connector_flag", "feature flag allows the endpoint", reason is None,
            f"on for organisation {organisation!r}" if reason is None else f"off for organisation {organisation!r}",
            f"To enable it, {reason}; until then its routes answer 404.")


def check_credential(run: Checklist, table: dict[str, Any]) -> None:
    credential = table.get("credential")
    size = len(credential) if isinstance(credential, str) else 0
    # The length is shown, never the value.
    ok = size >= MIN_CREDENTIAL
    detail = "long enough" if ok else ("botConnector.credential is missing" if not size
                                       else f"botConnector.credential has only {size} characters")
    run.add("bot_connector_credential", f"credential of {MIN_CREDENTIAL} characters or more", ok, detail,
            "Choose a longer credential, set it in the integration's credential field and as botConnector.credential.")


async def check_reachable(run: Checklist, config: DoctorConfig, endpoint: dict[str, Any],
                          session: aiohttp.ClientSession) -> None:
    title = "endpoint answers at public_url"
    table = _table(endpoint)
    if config.public_url is None:
        run.add("bot_connector_reachable", title, False, "server.public_url is not set",
                "Set server.public_url to the https address at which Genesys Cloud reaches this runtime; the "
                "integration's URI is {public_url}/" + str(endpoint.get("urlToken") or "") + ".")
        return
    url = f"{config.public_url.rstrip('/')}/{endpoint.get('urlToken')}/botconnector/bots"
    header = str(table.get("credentialHeader") or "")
    credential = Secret(str(table.get("credential") or ""))
    try:
        async with session.get(url, headers={header: credential.reveal()} if header else {},
                               timeout=aiohttp.ClientTimeout(total=TIMEOUT), allow_redirects=False) as resp:
            status = resp.status
            body = await resp.json(content_type=None) if status == 200 else None
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        run.add("bot_connector_reachable", title, False, f"GET {url} failed ({type(exc).__name__})",
                "Start the runtime (genesys-om serve) and check that public_url reaches it from outside.")
        return
    listed = [b.get("id") for b in (body or {}).get("entities") or [] if isinstance(b, dict)]
    ok = status == 200 and table.get("botId") in listed
    detail = f"GET {url} answered {status}" + (", listing the bot" if ok else "")
    hint = {403: "The runtime refused the credential: is this config the one it runs?",
            404: "No such endpoint there, or its feature flag is off in the running runtime."}.get(
        status, "Check that public_url leads to this runtime.")
    run.add("bot_connector_reachable", title, ok, detail, hint)


async def check_bot_list(run: Checklist, config: DoctorConfig, table: dict[str, Any],
                         session: aiohttp.ClientSession) -> None:
    title = "Genesys integration lists this bot"
    integration_id = str(table.get("integrationId") or "")
    if not integration_id:
        run.skip("bot_connector_integration", title, "set botConnector.integrationId to the integration's id")
        return
    if not config.connections:
        run.skip("bot_connector_integration", title, "needs the OAuth client of a genesysCloudOM connection")
        return
    values = next(iter(config.connections.values()))
    try:
        region = resolve_region(str(values.get("host") or "").strip())
    except ValueError:
        run.skip("bot_connector_integration", title, "needs a valid region host")
        return
    client = GenesysClient(session, region, str(values.get("clientId") or "").strip(),
                           str(values.get("clientSecret") or "").strip(), retry=RETRY, request_timeout=TIMEOUT)
    try:
        bots = await client.get_bot_list(integration_id)
    except GenesysError as exc:
        hint = ("No Bot Connector integration has this id: set botConnector.integrationId to the id in the "
                "integration's address in Admin > Integrations." if exc.status == 404
                else api_hint(exc, "integrations:integration:view"))
        run.add("bot_connector_integration", title, False, f"the bot list of {integration_id} cannot be read: {exc}",
                hint)
        return
    bot = next((b for b in bots if b.get("id") == table.get("botId")), None)
    if bot is None:
        run.add("bot_connector_integration", title, False,
                f"integration {integration_id} does not list bot {table.get('botId')!r}",
                "Run genesys-om doctor --fix to add it (or add it in the integration's bot list).")
        return
    versions = [v for v in bot.get("versions") or [] if isinstance(v, dict) and v.get("version") == BOT_VERSION]
    have = {str(i.get("name")) for v in versions for i in v.get("intents") or [] if isinstance(i, dict)}
    missing = [i for i in _strings(table.get("intents")) if i not in have]
    run.add("bot_connector_integration", title, not missing,
            f"integration {integration_id} lists bot {table.get('botId')!r}"
            + (f" without the intents {', '.join(missing)}" if missing else " with every intent"),
            "Run genesys-om doctor --fix to update the bot list.")


async def check_endpoint(config: DoctorConfig, endpoint: dict[str, Any], session: aiohttp.ClientSession) -> list[Check]:
    """Every check of one Bot Connector endpoint."""
    run = Checklist(f"endpoint {endpoint.get('urlToken')}")
    table = _table(endpoint)
    check_flag(run, config, endpoint)
    check_credential(run, table)
    await check_reachable(run, config, endpoint, session)
    await check_bot_list(run, config, table, session)
    return run.checks


def _listed_bot(table: dict[str, Any]) -> dict[str, Any]:
    """The bot as the integration's bot list should hold it (the SDK's BotConnectorBot)."""
    listed: dict[str, Any] = {"id": str(table.get("botId") or ""), "name": str(table.get("botName") or "")}
    description = str(table.get("description") or "").strip()
    if description:
        listed["description"] = description[:256]
    listed["versions"] = [{"version": BOT_VERSION, "supportedLanguages": _strings(table.get("languages")) or ["en-us"],
                           "intents": [{"name": name, "slots": {}} for name in _strings(table.get("intents"))]}]
    return listed


def _same_bot(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    def shape(bot: dict[str, Any]) -> Any:
        versions = sorted(
            (str(v.get("version")), sorted(_strings(v.get("supportedLanguages"))),
             sorted(str(i.get("name")) for i in v.get("intents") or [] if isinstance(i, dict)))
            for v in bot.get("versions") or [] if isinstance(v, dict))
        return bot.get("name"), bot.get("description") or "", versions
    return bool(shape(current) == shape(wanted))


async def plan_bot_lists(config: DoctorConfig, session: aiohttp.ClientSession) -> list[Fix]:
    """One Fix per Bot Connector endpoint whose integration's bot list can be read and lacks its bot."""
    fixes: list[Fix] = []
    if not config.connections:
        return fixes
    values = next(iter(config.connections.values()))
    try:
        region = resolve_region(str(values.get("host") or "").strip())
    except ValueError:
        return fixes
    client = GenesysClient(session, region, str(values.get("clientId") or "").strip(),
                           str(values.get("clientSecret") or "").strip(), retry=RETRY, request_timeout=TIMEOUT)
    for endpoint in bot_connector_endpoints(config):
        table = _table(endpoint)
        integration_id = str(table.get("integrationId") or "")
        if not integration_id or not table.get("botId"):
            continue
        try:
            bots = await client.get_bot_list(integration_id)
        except GenesysError:
            continue  # the checklist says why
        wanted = _listed_bot(table)
        current = next((b for b in bots if b.get("id") == wanted["id"]), None)
        label = f"endpoint {endpoint.get('urlToken')}"
        integration = Integration(integration_id, "Bot Connector", None, None, None, None)
        if current is not None and _same_bot(current, wanted):
            fixes.append(Fix(label, integration, [], client, bots=None))
            continue
        kept = [{k: v for k, v in b.items() if k not in ("botCompositeTag", "selfUri")}
                for b in bots if b.get("id") != wanted["id"]]
        action = "add" if current is None else "update"
        intents = ", ".join(_strings(table.get("intents")))
        change = Change("chatBots", "bot list", f"{action} bot {wanted['id']!r} (intents {intents})", "")
        fixes.append(Fix(label, integration, [change], client, bots=[*kept, wanted]))
    return fixes
