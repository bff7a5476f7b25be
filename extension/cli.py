"""The `genesys-om` command: serve, validate, and the version."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .config import Config, ConfigError, load_config
from .manifest import Manifest, load_manifest

EPILOG = """\
examples:
  genesys-om validate --config examples/demo.toml
  genesys-om serve --config examples/demo.toml --port 8080

The config file is TOML; ${NAME} in any string is read from the environment.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genesys-om",
        description="Run bot flows that hand conversations over to Genesys Cloud agents "
                    "through Open Messaging.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"genesys-om {__version__}")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="logging level (INFO)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser("serve", help="validate the config, then run the runtime")
    serve.add_argument("--config", required=True, type=Path, help="the TOML config file")
    serve.add_argument("--host", help="listen address (default: [server] host)")
    serve.add_argument("--port", type=int, help="listen port (default: [server] port)")
    validate = sub.add_parser("validate", help="check the config, its flows and the declarations")
    validate.add_argument("--config", required=True, type=Path, help="the TOML config file")
    return parser


def _load(path: Path) -> tuple[Manifest, Config] | None:
    try:
        manifest = load_manifest()
        return manifest, load_config(path, manifest)
    except ConfigError as exc:
        print(f"{path}: configuration is invalid:", file=sys.stderr)
        for line in exc.errors:
            print(f"  - {line}", file=sys.stderr)
        return None


def cmd_validate(args: argparse.Namespace) -> int:
    loaded = _load(args.config)
    if loaded is None:
        return 1
    _, config = loaded
    print(f"{args.config}: OK ({len(config.endpoints)} endpoint(s), "
          f"{len(config.connections)} connection(s))")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from .app import build_app

    loaded = _load(args.config)
    if loaded is None:
        return 1
    manifest, config = loaded
    host = args.host or config.server.host
    port = config.server.port if args.port is None else args.port
    if not 0 <= port <= 65535:
        print(f"--port: {port} is not a port number", file=sys.stderr)
        return 1
    app = build_app(config, manifest)
    web.run_app(app, host=host, port=port, print=lambda msg: print(msg, flush=True),
                access_log=None)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "validate":
        return cmd_validate(args)
    if args.command == "serve":
        return cmd_serve(args)
    _parser().print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
