"""`genesys-om demo`: the runtime, the Genesys Cloud emulator and the example flow, on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from .app import build_app
from .config import Config, ConfigError, ConnectionConfig, load_config
from .declarations import example_config
from .manifest import load_manifest
from .providers.genesys_bot_connector.settings import ENDPOINT_TYPE as BOT_CONNECTOR
from .providers.genesys_bot_connector.settings import BotConnectorSettings
from .providers.genesys_flags import BOT_CONNECTOR_WHITELIST, ENABLE_OM, OM_WHITELIST
from .providers.genesys_om.state import PROVIDER as PROVIDER_TYPE
from .providers.genesys_om.webhook import webhook_path
from .secrets import Secret
from .testing.emulator import BotConnectorConfig, Emulator, EmulatorConfig, bot
from .testing.emulator.addresses import http_url
from .testing.emulator.config import DEFAULT_INTEGRATION_ID, DEFAULT_QUEUE_ID, IntegrationConfig, QueueConfig

DEMO_FLAGS = {ENABLE_OM: "true", OM_WHITELIST: "*", BOT_CONNECTOR_WHITELIST: "*"}
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def default_config() -> Path:
    """The example config: shipped inside the wheel, or at the top of a source checkout."""
    return example_config()


@dataclass
class Demo:
    """A running demo: the runtime behind `runtime_url`, the emulator behind `emulator_url`."""

    config: Config
    emulator: Emulator
    runner: web.AppRunner
    runtime_url: str
    emulator_url: str
    workdir: Path | None

    @property
    def url_token(self) -> str:
        """The web chat's endpoint (the first webchat one)."""
        return next(e.url_token for e in self.config.endpoints if e.type != BOT_CONNECTOR)

    @property
    def messenger_url(self) -> str | None:
        """The emulator's customer messenger, when a Bot Connector endpoint runs."""
        if not any(e.type == BOT_CONNECTOR for e in self.config.endpoints):
            return None
        return f"{self.emulator_url}/messenger"

    @property
    def webchat_url(self) -> str:
        return f"{self.runtime_url}/webchat/{self.url_token}"

    @property
    def console_url(self) -> str:
        return f"{self.emulator_url}/console"

    async def stop(self) -> None:
        """Stop the runtime first (it still talks to the emulator while it shuts down), then the emulator."""
        await self.runner.cleanup()
        await self.emulator.stop()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _emulator_for(connections: list[ConnectionConfig]) -> Emulator:
    """An emulated organisation that knows the clients, integrations and queues the config names."""
    config = EmulatorConfig(clients={}, integrations=[], queues=[])
    for conn in connections:
        config.clients[conn["clientId"]] = conn["clientSecret"].reveal()
        if all(i.name != conn["deploymentName"] for i in config.integrations):
            config.integrations.append(IntegrationConfig(
                id=str(uuid.uuid4()) if config.integrations else DEFAULT_INTEGRATION_ID,
                name=conn["deploymentName"], webhook_secret=conn["webhookSecret"].reveal()))
        if config.queue_named(conn["queue"]) is None:
            config.queues.append(QueueConfig(id=str(uuid.uuid4()) if config.queues else DEFAULT_QUEUE_ID,
                                             name=conn["queue"]))
    return Emulator(config)


def _bot_connectors(emulator: Emulator, config: Config, runtime_url: str) -> None:
    """An emulated Bot Connector integration calling each Bot Connector endpoint, transferring to the
    first queue on Complete."""
    for n, endpoint in enumerate(e for e in config.endpoints if e.type == BOT_CONNECTOR):
        settings = endpoint.type_settings
        if not isinstance(settings, BotConnectorSettings):
            continue
        emulator.add_bot_connector(BotConnectorConfig(
            id=str(uuid.uuid4()), name=f"Bot Connector {endpoint.url_token}" if n else "Bot Connector",
            bot_uri=f"{runtime_url}/{endpoint.url_token}",
            credentials={settings.credential_header: settings.credential.reveal()},
            queue_id=emulator.queue.id,
            bots=[bot(settings.bot_id, list(settings.intents), name=settings.bot_name,
                      languages=settings.languages)]))


class CannotListen(OSError):
    """A demo server cannot listen: names the command-line flag that chooses its port."""

    def __init__(self, flag: str, host: str, port: int, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause))
        self.flag, self.host, self.port = flag, host, port

    def explain(self) -> str:
        remedy = (f"choose another {self.flag}, or 0 for a free one" if self.errno == errno.EADDRINUSE
                  else "check --host (an address of this machine, or 0.0.0.0 for all)")
        return f"cannot listen on {self.host} port {self.port} ({self.flag}): {self.strerror}; {remedy}"


def _bind(host: str, port: int) -> socket.socket:
    # Bound before the app is built, so its URL (webhook and Copilot links) is known up front.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CannotListen("--port", host, port, exc) from exc
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def start_demo(config_path: Path | None = None, *, host: str = "127.0.0.1", port: int = 0,
                     emulator_port: int = 0, workdir: Path | None = None,
                     env: Mapping[str, str] | None = None) -> Demo:
    """Start the emulator and the runtime wired to each other; ConfigError or OSError on failure."""
    manifest = load_manifest()
    env = {**(os.environ if env is None else env), **DEMO_FLAGS}
    base = load_config(config_path or default_config(), manifest, env)
    genesys = [c for c in base.connections.values() if c.type == PROVIDER_TYPE]
    if not genesys:
        raise ConfigError([f"{base.source}: the demo needs a {PROVIDER_TYPE} connection"])
    emulator = _emulator_for(genesys)
    try:
        emulator_url = await emulator.start(host, emulator_port)
    except OSError as exc:
        raise CannotListen("--emulator-port", host, emulator_port, exc) from exc
    own_dir = workdir is None
    folder = Path(tempfile.mkdtemp(prefix="genesys-om-demo-")) if workdir is None else workdir
    sock: socket.socket | None = None
    runner: web.AppRunner | None = None
    try:
        sock = _bind(host, port)
        # The URLs printed and given to Genesys and the agent reach the servers even when they
        # listen on every address (0.0.0.0).
        runtime_url = http_url(host, sock.getsockname()[1])
        for integration in emulator.config.integrations:
            emulator.update_integration(integration.id, webhook_url=runtime_url + webhook_path(manifest))
        _bot_connectors(emulator, base, runtime_url)
        config = dataclasses.replace(
            base,
            # The demo is the web chat: on even when the config given turns it off for production.
            server=dataclasses.replace(base.server, host=host, port=sock.getsockname()[1], public_url=runtime_url,
                                       copilot_secret=base.server.copilot_secret or Secret(secrets.token_urlsafe(32)),
                                       webchat=True),
            store_url=f"sqlite:///{folder / 'demo.db'}",
            connections={name: dataclasses.replace(c, values={**c.values, "host": emulator_url})
                         if c.type == PROVIDER_TYPE else c for name, c in base.connections.items()},
            endpoints=tuple(dataclasses.replace(e, copilot_url=f"{runtime_url}/copilot") for e in base.endpoints),
        )
        # A pending long-poll (up to 30 s) would hold a graceful shutdown; the demo stops within seconds.
        runner = web.AppRunner(build_app(config, manifest), access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        await web.SockSite(runner, sock).start()
    except BaseException:
        if runner is not None:
            await runner.cleanup()
        if sock is not None:
            sock.close()
        await emulator.stop()
        if own_dir:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return Demo(config, emulator, runner, runtime_url, emulator_url, folder if own_dir else None)


def banner(demo: Demo) -> str:
    """What `genesys-om demo` prints once both servers answer."""
    return (
        "genesys-om demo: the bot runtime and a Genesys Cloud emulator are running (Ctrl-C stops both).\n"
        "\n"
        f"  Web chat       {demo.webchat_url}\n"
        f"  Agent console  {demo.console_url}\n"
        + (f"  Messenger      {demo.messenger_url}   (a customer inside Genesys; the bot sits in Architect)\n"
           if demo.messenger_url else "")
        + "\n"
        "Try this: in the web chat say hello, then type \"agent\" to ask for a person.\n"
        "          In the agent console accept it, reply, then end it: the bot takes over again.\n"
        + ("          In the messenger, the same bot answers inside Genesys; \"agent\" transfers you to the queue.\n"
           if demo.messenger_url else "")
    )


async def serve_demo(config_path: Path | None, host: str, port: int, emulator_port: int) -> int:
    """Run until SIGINT or SIGTERM, then stop everything.

    The handlers are in place from before the start until the stop has finished: a Ctrl-C while
    starting stops the demo once it is up, and another Ctrl-C while stopping is only noted.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def request_stop() -> None:
        if stop.is_set():
            print("still stopping, one moment…", flush=True)
        stop.set()

    for sig in SIGNALS:
        loop.add_signal_handler(sig, request_stop)
    try:
        print("starting the demo…", flush=True)
        try:
            demo = await start_demo(config_path, host=host, port=port, emulator_port=emulator_port)
        except ConfigError as exc:
            print("the demo configuration is invalid:", *[f"  - {line}" for line in exc.errors], sep="\n",
                  file=sys.stderr)
            return 1
        except CannotListen as exc:
            print(exc.explain(), file=sys.stderr)
            return 1
        try:
            if not stop.is_set():
                print(banner(demo), flush=True)
                await stop.wait()
        finally:
            print("stopping the demo…", flush=True)
            await demo.stop()
    finally:
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)
    print("stopped.", flush=True)
    return 0
