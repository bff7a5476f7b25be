"""The provider seam: handover providers are found through the manifest, by connection type."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from extension.app import build_app
from extension.config import Config, ConfigError
from extension.flows.engine import NodeApi
from extension.handover import ProviderDeclaration, service_key
from extension.manifest import DeclarationError, Manifest, load_manifest

REPO = Path(__file__).resolve().parents[1]
HANDOVER_FLOW = {"name": "h", "nodes": [{"id": "h", "type": "handoverToAgent", "config": {}},
                                        {"id": "w", "type": "waitForInput"}]}
CALLS: list[tuple[str, str | None]] = []


class RecordingProvider:
    """A provider that records what the generic nodes ask of it."""

    async def start(self, api: NodeApi, config: dict[str, Any]) -> None:
        CALLS.append(("start", api.endpoint.handover))
        api.emit_handover("queue")

    async def close(self, api: NodeApi, config: dict[str, Any]) -> None:
        CALLS.append(("close", api.endpoint.handover))


def install_recording(app: web.Application, config: Config, declaration: ProviderDeclaration) -> None:
    """A provider factory, as a manifest names it."""
    from extension import keys

    async def webhook(request: web.Request) -> web.Response:
        return web.json_response({"provider": "recording"})

    app[keys.CONVERSATIONS].services[service_key(declaration.connection_type)] = RecordingProvider()
    app.router.add_post(declaration.webhook_path, webhook)


def _with_provider(manifest: Manifest, **changes: Any) -> Manifest:
    [(name, declaration)] = manifest.providers.items()
    return dataclasses.replace(manifest, providers={name: dataclasses.replace(declaration, **changes)})


async def _serve(app: web.Application) -> TestClient[Any, Any]:
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


async def test_the_handover_node_calls_the_provider_the_manifest_names_for_its_connection_type(
        make_config: Callable[..., Config], manifest: Manifest) -> None:
    CALLS.clear()
    recording = _with_provider(manifest, factory="test_providers:install_recording", webhook_path="/hooks/om")
    client = await _serve(build_app(make_config(flow=HANDOVER_FLOW), recording))
    try:
        resp = await client.post("/support-bot", json={"userId": "u1", "sessionId": "s1", "text": "hi"})
        assert resp.status == 200
        assert CALLS == [("start", "support")]
        # The declared path is the one route; the old one is not served by anyone.
        assert await (await client.post("/hooks/om", json={})).json() == {"provider": "recording"}
        assert (await client.post("/handover/genesysCloudOM", json={})).status in (404, 405)
    finally:
        await client.close()


async def test_the_genesys_provider_serves_the_webhook_path_the_manifest_declares(
        make_config: Callable[..., Config], manifest: Manifest) -> None:
    client = await _serve(build_app(make_config(), _with_provider(manifest, webhook_path="/in/genesys")))
    try:
        unsigned = await client.post("/in/genesys", json={"channel": {}})
        assert unsigned.status == 401  # the Genesys webhook, refusing an unsigned body
        assert (await client.post("/handover/genesysCloudOM", json={})).status in (404, 405)
    finally:
        await client.close()


async def test_without_a_provider_for_its_connection_type_the_node_ends_unsupported(
        make_config: Callable[..., Config], manifest: Manifest) -> None:
    client = await _serve(build_app(make_config(flow=HANDOVER_FLOW), _with_provider(manifest, factory=None)))
    try:
        resp = await client.post("/support-bot", json={"userId": "u1", "sessionId": "s1", "text": "hi"})
        assert resp.status == 200
        events = await (await client.get("/support-bot/events", params={"userId": "u1", "sessionId": "s1"})).json()
        assert [e for e in events["events"] if e["type"] == "handover"][0]["status"] == "error"
    finally:
        await client.close()


def test_a_factory_that_cannot_be_imported_is_refused_naming_the_field(tmp_path: Path) -> None:
    root = tmp_path / "decl"
    root.mkdir()
    shutil.copy(REPO / "manifest.json", root)
    shutil.copytree(REPO / "nodes", root / "nodes")
    shutil.copytree(REPO / "connections", root / "connections")
    data = json.loads((root / "manifest.json").read_text())
    data["handoverProviders"][0]["factory"] = "extension.nowhere:install"
    (root / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(DeclarationError) as caught:
        load_manifest(root)
    assert "manifest.json: handoverProviders[0].factory: cannot import module 'extension.nowhere'" in str(caught.value)


def test_an_endpoint_type_other_than_webchat_is_refused(make_config: Callable[..., Config]) -> None:
    with pytest.raises(ConfigError) as caught:
        make_config(endpoint_extra='type = "telegram"')
    assert any(line.startswith("endpoints[0].type: Must be one of: webchat") for line in caught.value.errors)
    assert make_config().endpoints[0].type == "webchat"
