"""Run the emulator on its own: `python -m extension.testing.emulator --port 9100`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .app import Emulator
from .config import (
    DEFAULT_BOT_CONNECTOR_ID,
    DEFAULT_BOT_CONNECTOR_NAME,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_INTEGRATION_ID,
    DEFAULT_INTEGRATION_NAME,
    DEFAULT_QUEUE_ID,
    DEFAULT_QUEUE_NAME,
    DEFAULT_WEBHOOK_SECRET,
    DEFAULT_WEBHOOK_URL,
    BotConnectorConfig,
    EmulatorConfig,
    IntegrationConfig,
    QueueConfig,
    bot,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m extension.testing.emulator", description="Genesys Cloud emulator"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument("--integration-name", default=DEFAULT_INTEGRATION_NAME)
    parser.add_argument("--webhook-url", default=DEFAULT_WEBHOOK_URL)
    parser.add_argument("--webhook-secret", default=DEFAULT_WEBHOOK_SECRET)
    parser.add_argument("--queue", action="append", help="queue name (repeatable)")
    parser.add_argument("--heartbeat", type=float, default=30.0, help="seconds")
    parser.add_argument("--token-lifetime", type=int, default=86399, help="seconds")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per answer")
    parser.add_argument("--auto-reply", action="store_true", help="accept and echo every message")
    parser.add_argument("--missing-permission", action="append", default=[],
                        help="a permission the OAuth client's role lacks (repeatable), e.g. "
                             "analytics:conversationDetail:view")
    group = parser.add_argument_group("Bot Connector integration (Architect calls a bot; the messenger page)")
    group.add_argument("--bot-uri", help="the bot's base URI, e.g. http://127.0.0.1:8080/genesys-bot")
    group.add_argument("--bot-credential", action="append", default=[], metavar="HEADER=VALUE",
                       help="a credential header sent on every call (repeatable)")
    group.add_argument("--bot-id", default="support-bot", help="the bot of the integration's bot list")
    group.add_argument("--bot-intent", action="append", help="an intent the bot list declares (repeatable)")
    group.add_argument("--bot-timeout", type=float, default=30.0, help="response timeout, seconds")
    return parser.parse_args(argv)


def bot_connector_from(args: argparse.Namespace, queue_id: str) -> BotConnectorConfig | None:
    """The Bot Connector integration of the command line, when --bot-uri is given."""
    if not args.bot_uri:
        return None
    credentials = {}
    for item in args.bot_credential:
        header, sep, value = item.partition("=")
        if not sep or not header.strip():
            raise SystemExit("--bot-credential takes HEADER=VALUE")  # the value is never echoed
        credentials[header.strip()] = value
    return BotConnectorConfig(
        id=DEFAULT_BOT_CONNECTOR_ID, name=DEFAULT_BOT_CONNECTOR_NAME, bot_uri=args.bot_uri,
        credentials=credentials, queue_id=queue_id, response_timeout=args.bot_timeout,
        bots=[bot(args.bot_id, args.bot_intent or ["Escalate"])],
    )  # fmt: skip


def config_from(args: argparse.Namespace) -> EmulatorConfig:
    """An EmulatorConfig from the command line."""
    names = args.queue or [DEFAULT_QUEUE_NAME]
    queues = [
        QueueConfig(id=DEFAULT_QUEUE_ID if i == 0 else f"{DEFAULT_QUEUE_ID[:-2]}{i:02d}", name=n)
        for i, n in enumerate(names)
    ]
    integration = IntegrationConfig(
        id=DEFAULT_INTEGRATION_ID,
        name=args.integration_name,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
    )
    connector = bot_connector_from(args, queues[0].id)
    return EmulatorConfig(
        bot_connectors=[connector] if connector is not None else [],
        clients={args.client_id: args.client_secret},
        token_lifetime=args.token_lifetime,
        integrations=[integration],
        queues=queues,
        heartbeat_interval=args.heartbeat,
        latency=args.latency,
        auto_reply=args.auto_reply,
        missing_permissions={args.client_id: list(args.missing_permission)} if args.missing_permission else {},
    )


async def serve(args: argparse.Namespace) -> None:
    """Run until interrupted."""
    emulator = Emulator(config_from(args))
    base_url = await emulator.start(args.host, args.port)
    print(base_url, flush=True)
    print(f"agent API: {base_url}/emulator/conversations", flush=True)
    print(f"agent console: {base_url}/console", flush=True)
    if emulator.config.bot_connectors:
        print(f"customer messenger: {base_url}/messenger", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await emulator.stop()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
