"""The whole checklist: the configuration, each Genesys connection, each Bot Connector endpoint."""

from __future__ import annotations

import aiohttp

from .bot_connector import bot_connector_endpoints, check_endpoint
from .checks import Check, Checklist, check_connection
from .loading import DoctorConfig


async def diagnose(config: DoctorConfig, session: aiohttp.ClientSession) -> list[Check]:
    """Every check, in the order a setup is done."""
    run = Checklist(None)
    problems = config.problems
    run.add("config", "configuration is valid", not problems,
            "genesys-om validate accepts it" if not problems else "; ".join(problems),
            "Fix the lines above; `genesys-om validate --config FILE` lists them too.")
    checks = list(run.checks)
    for name in config.connections:
        checks.extend(await check_connection(config, name, session))
    for endpoint in bot_connector_endpoints(config):
        checks.extend(await check_endpoint(config, endpoint, session))
    return checks
