"""The `genesys-om` command: serve, validate, and the version."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .config import Config, ConfigError, config_warnings, load_config
from .declarations import example_config
from .manifest import Manifest, load_manifest

if TYPE_CHECKING:
    from .doctor import Check

def _epilog() -> str:
    # The example config ships with the package: these lines work as printed, from a wheel too.
    example = example_config()
    return f"""\
examples:
  genesys-om validate --config {example}
  genesys-om serve --config prod.toml --port 8080
  genesys-om demo                      # runtime + Genesys Cloud emulator + web chat, on free ports
  genesys-om demo --host 0.0.0.0 --port 8080   # reachable from other machines
  genesys-om doctor --config prod.toml # check a real Genesys Cloud setup step by step
  genesys-om doctor --config prod.toml --fix   # and offer to set the integration's webhook URL and secret

The config file is TOML; ${{NAME}} in any string is read from the environment ($$ is a literal $).
A Genesys Cloud emulator runs on its own with: python -m extension.testing.emulator --port 9100
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genesys-om",
        description="Run bot flows that hand conversations over to Genesys Cloud agents "
                    "through Open Messaging.",
        epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"genesys-om {__version__}")
    parser.add_argument("--log-level", default=None, choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="logging level (INFO; WARNING for demo and doctor, whose output is the point)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser("serve", help="validate the config, then run the runtime")
    serve.add_argument("--config", required=True, type=Path, help="the TOML config file")
    serve.add_argument("--host", help="listen address (default: [server] host)")
    serve.add_argument("--port", type=int, help="listen port (default: [server] port)")
    validate = sub.add_parser("validate", help="check the config, its flows and the declarations")
    validate.add_argument("--config", required=True, type=Path, help="the TOML config file")
    demo = sub.add_parser("demo", help="run the runtime, a Genesys Cloud emulator and the example flow")
    demo.add_argument("--config", type=Path, help="the demo config (default: the shipped examples/demo.toml)")
    demo.add_argument("--host", default="127.0.0.1", help="listen address of both servers (127.0.0.1)")
    demo.add_argument("--port", type=int, default=0, help="runtime port (default: a free one)")
    demo.add_argument("--emulator-port", type=int, default=0, help="emulator port (default: a free one)")
    doctor = sub.add_parser("doctor", help="check a real Genesys Cloud setup and say how to fix it")
    doctor.add_argument("--config", required=True, type=Path, help="the TOML config file")
    doctor.add_argument("--connection", help="check only this connection (default: every genesysCloudOM one)")
    doctor.add_argument("--json", action="store_true", help="print the checklist as JSON")
    doctor.add_argument("--fix", action="store_true",
                        help="offer to set the integration's webhook URL and signature secret (asks first)")
    doctor.add_argument("--yes", action="store_true", help="with --fix: apply without asking (for scripts)")
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
    for line in config_warnings(config):
        print(f"warning: {line}", file=sys.stderr)
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


def cmd_demo(args: argparse.Namespace) -> int:
    for option in ("port", "emulator_port"):
        if not 0 <= getattr(args, option) <= 65535:
            print(f"--{option.replace('_', '-')}: {getattr(args, option)} is not a port number", file=sys.stderr)
            return 1
    try:
        from .demo import serve_demo

        return asyncio.run(serve_demo(args.config, args.host, args.port, args.emulator_port))
    except KeyboardInterrupt:
        # A Ctrl-C before the demo's own handlers were in place: nothing was left running.
        print("stopped.", flush=True)
        return 130


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import render_json, render_text, run_doctor
    from .doctor.report import passed

    try:
        checks = asyncio.run(run_doctor(args.config, connection=args.connection))
    except ConfigError as exc:
        if args.json:
            print(json.dumps({"config": str(args.config), "ok": False, "errors": exc.errors}, indent=2))
        else:
            print(f"{args.config}: the doctor cannot check this config:", file=sys.stderr)
            for line in exc.errors:
                print(f"  - {line}", file=sys.stderr)
        return 1
    if args.fix:
        return _doctor_fix(args, checks)
    print(render_json(args.config, checks) if args.json else render_text(args.config, checks), flush=True)
    return 0 if passed(checks) else 1


def _doctor_fix(args: argparse.Namespace, checks: list[Check]) -> int:
    """The checklist, the fixes (asked for), then the checklist again if anything changed."""
    from .doctor import render_json, render_text
    from .doctor.fixes import fixes_json, recheck, run_fixes, terminal_ask
    from .doctor.report import passed

    if not args.json:
        print(render_text(args.config, checks), "", "Fixes (--fix):", sep="\n", flush=True)
    # With --json, stdout is the report: only --yes can apply, and the lines go to stderr.
    ask = terminal_ask(None if args.json else sys.stdin, sys.stdout, yes=args.yes)
    out = sys.stderr if args.json else sys.stdout
    fixes = asyncio.run(run_fixes(args.config, ask, lambda line: print(line, file=out, flush=True),
                                  connection=args.connection))
    if not fixes:
        print("  nothing can be fixed here: the checks above say what is needed first", file=out)
    if any(f.outcome == "applied" for f in fixes):
        checks = recheck(checks, fixes)
        if not args.json:
            print("", "After the changes:", render_text(args.config, checks), sep="\n", flush=True)
    if args.json:
        report = json.loads(render_json(args.config, checks))
        print(json.dumps({**report, "fixes": fixes_json(fixes)}, indent=2), flush=True)
    return 0 if passed(checks) else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    quiet = args.command in ("demo", "doctor")
    level = args.log_level or ("WARNING" if quiet else "INFO")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "validate":
        return cmd_validate(args)
    if args.command == "serve":
        return cmd_serve(args)
    if args.command == "demo":
        return cmd_demo(args)
    if args.command == "doctor":
        return cmd_doctor(args)
    _parser().print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
