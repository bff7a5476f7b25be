"""Run the emulator on its own: `python -m extension.testing.emulator --port 9100`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .app import Emulator
from .config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_INTEGRATION_ID,
    DEFAULT_INTEGRATION_NAME,
    DEFAULT_QUEUE_ID,
    DEFAULT_QUEUE_NAME,
    DEFAULT_WEBHOOK_SECRET,
    DEFAULT_WEBHOOK_URL,
    EmulatorConfig,
    IntegrationConfig,
    QueueConfig,
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
    return parser.parse_args(argv)


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
    return EmulatorConfig(
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
