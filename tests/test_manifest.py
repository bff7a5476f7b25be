"""The declarations: manifest <-> files, descriptor validation, and shipping inside the wheel."""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

import extension
from extension.config import Config
from extension.declarations import declarations_root
from extension.manifest import Manifest, load_manifest
from extension.validation import DeclarationError

REPO = Path(__file__).resolve().parents[1]


def test_every_declaration_file_is_named_by_the_manifest_and_back() -> None:
    data = json.loads((REPO / "manifest.json").read_text())
    assert sorted(data["nodes"]) == sorted(p.name for p in (REPO / "nodes").glob("*.json"))
    assert sorted(data["connections"]) == sorted(p.name for p in (REPO / "connections").glob("*.json"))


def test_required_node_types_and_provider(manifest: Manifest) -> None:
    assert set(manifest.nodes) == {"say", "waitForInput", "switch", "goTo", "handoverToAgent", "closeHandover",
                                   "completeBotSession"}
    assert set(manifest.endpoint_types) == {"genesysBotConnector"}
    provider = manifest.providers["genesysCloudOM"]
    assert provider.connection_type == "genesysCloudOM"
    assert provider.webhook_path == "/handover/genesysCloudOM"
    assert manifest.version == extension.__version__


def test_connection_fields_are_exactly_the_spec(manifest: Manifest) -> None:
    conn = manifest.connections["genesysCloudOM"]
    fields = {f.key: (f.type, f.required) for f in conn.fields}
    assert fields == {
        "host": ("text", True), "deploymentName": ("text", True), "queue": ("text", True),
        "webhookSecret": ("secret", True), "clientId": ("text", True), "clientSecret": ("secret", True),
        "sendProfile": ("toggle", False), "endHandoverApiKey": ("secret", False),
    }
    assert conn.secret_keys() == {"webhookSecret", "clientSecret", "endHandoverApiKey"}


def test_handover_node_declares_every_spec_field(manifest: Manifest) -> None:
    fields = {f.key: f for f in manifest.nodes["handoverToAgent"].fields}
    assert set(fields) == {
        "handoverAcceptedMessage", "repeatHandoverMessage", "cancelText", "cancelButtonText",
        "sendResolveEvent", "sendQueueEvent", "sendActiveEvent", "sendTranscript", "queue",
        "language", "skills", "priority", "customAttributes",
    }
    defaults = manifest.nodes["handoverToAgent"].schema().load({})
    assert defaults["handoverAcceptedMessage"] == "You are being connected to an agent."
    assert defaults["cancelText"] == "cancel"
    assert defaults["sendResolveEvent"] is True and defaults["sendTranscript"] is True


@pytest.fixture
def decl(tmp_path: Path) -> Path:
    """A writable copy of the declarations."""
    root = tmp_path / "decl"
    root.mkdir()
    shutil.copy(REPO / "manifest.json", root)
    shutil.copytree(REPO / "nodes", root / "nodes")
    shutil.copytree(REPO / "connections", root / "connections")
    return root


def _edit(path: Path, change: object) -> None:
    data = json.loads(path.read_text())
    change(data)  # type: ignore[operator]
    path.write_text(json.dumps(data))


def _errors(root: Path) -> str:
    with pytest.raises(DeclarationError) as info:
        load_manifest(root)
    return str(info.value)


def test_manifest_naming_a_missing_file(decl: Path) -> None:
    _edit(decl / "manifest.json", lambda d: d["nodes"].append("nope.json"))
    assert "nodes/nope.json: file not found" in _errors(decl)


def test_manifest_missing_field(decl: Path) -> None:
    _edit(decl / "manifest.json", lambda d: d.pop("handoverProviders"))
    assert "manifest.json: handoverProviders: Missing data for required field." in _errors(decl)


def test_descriptor_not_json(decl: Path) -> None:
    (decl / "nodes" / "say.json").write_text("{not json")
    assert "nodes/say.json: not valid JSON" in _errors(decl)


def test_descriptor_bad_field_type_names_file_and_field(decl: Path) -> None:
    _edit(decl / "nodes" / "say.json", lambda d: d["fields"][0].update(type="colour"))
    assert "nodes/say.json: fields[0].type: Must be one of" in _errors(decl)


def test_descriptor_unresolvable_function(decl: Path) -> None:
    _edit(decl / "nodes" / "go_to.json", lambda d: d.update(function="extension.flows.builtins:nope"))
    assert "nodes/go_to.json: function: module 'extension.flows.builtins' has no callable 'nope'" in _errors(decl)


def test_descriptor_unknown_key_refused(decl: Path) -> None:
    _edit(decl / "connections" / "genesys_cloud_om.json", lambda d: d.update(colour="red"))
    assert "connections/genesys_cloud_om.json: colour: Unknown field." in _errors(decl)


def test_descriptor_default_must_pass_its_own_field(decl: Path) -> None:
    _edit(decl / "nodes" / "handover_to_agent.json",
          lambda d: next(f for f in d["fields"] if f["key"] == "priority").update(default="high"))
    assert "nodes/handover_to_agent.json: default of priority: Not a valid number." in _errors(decl)


def test_provider_must_name_a_declared_connection(decl: Path) -> None:
    _edit(decl / "manifest.json", lambda d: d["handoverProviders"][0].update(connectionType="other"))
    assert "handoverProviders[0].connectionType: no connection declares type 'other'" in _errors(decl)


def test_wheel_ships_the_declarations_and_loads_them_when_installed(tmp_path: Path, wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "extension/_declarations/manifest.json" in names
    assert "extension/_declarations/connections/genesys_cloud_om.json" in names
    assert {f"extension/_declarations/nodes/{p.name}" for p in (REPO / "nodes").glob("*.json")} <= names
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    probe = ("import extension.manifest as m, extension.declarations as d;"
             "man = m.load_manifest(); print(d.declarations_root()); print(sorted(man.nodes))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, check=True, capture_output=True,
                         text=True, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    root_line, nodes_line = out.stdout.strip().splitlines()
    assert root_line == str(target / "extension" / "_declarations")
    assert "handoverToAgent" in nodes_line
    # The console script the README tells people to run.
    with zipfile.ZipFile(wheel) as zf:
        entry_points = next(n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt"))
        parser = configparser.ConfigParser()
        parser.read_string(zf.read(entry_points).decode())
    assert dict(parser["console_scripts"]) == {"genesys-om": "extension.cli:main"}


def test_source_checkout_reads_the_repository_files() -> None:
    assert declarations_root() in (REPO, Path(extension.__file__).parent / "_declarations")


def test_end_handover_api_key_has_no_length_the_spec_does_not_state(manifest: Manifest) -> None:
    spec = next(f for f in manifest.connections["genesysCloudOM"].fields if f.key == "endHandoverApiKey")
    assert spec.type == "secret" and "minLength" not in spec.params and "maxLength" not in spec.params
    loaded = manifest.connections["genesysCloudOM"].schema(partial=True).load({"endHandoverApiKey": "k"})
    assert loaded["endHandoverApiKey"].reveal() == "k"


def test_the_app_serves_the_declared_webhook_path_and_provider_type(
    make_config: Callable[..., Config], manifest: Manifest
) -> None:
    from extension.app import build_app
    from extension.providers.genesys_om.runtime import genesys_webhook
    from extension.providers.genesys_om.state import PROVIDER

    # The code binds the provider by this constant; the manifest must declare the same one.
    assert list(manifest.providers) == [PROVIDER]
    provider = manifest.providers[PROVIDER]
    assert provider.connection_type == PROVIDER and PROVIDER in manifest.connections
    app = build_app(make_config(), manifest)
    posts = {route.resource.canonical: route.handler for route in app.router.routes()
             if route.method == "POST" and route.resource is not None}
    assert posts.get(provider.webhook_path) is genesys_webhook


def _floors() -> dict[str, tuple[int, ...]]:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    floors = {}
    for dep in deps:
        m = re.match(r"^([A-Za-z0-9_.-]+)\s*>=\s*([0-9.]+)", dep)
        assert m, f"runtime dependency without a version floor: {dep}"
        floors[m.group(1).lower()] = tuple(int(p) for p in m.group(2).split("."))
    return floors


def test_dependency_floors_cover_what_the_code_uses() -> None:
    floors = _floors()
    # extension/schemas.py subclasses the generic `fields.Field[T]`, new in marshmallow 4.0.
    assert floors["marshmallow"] >= (4, 0)
    # extension/genesys/retry.py reads `retry_state.upcoming_sleep` in `stop`; tenacity sets it
    # before calling `stop` since 8.3.0 (8.2 has no such attribute).
    assert floors["tenacity"] >= (8, 3)
    # `web.AppKey` (extension/keys.py) is new in aiohttp 3.9.
    assert floors["aiohttp"] >= (3, 9)
