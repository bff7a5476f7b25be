"""`genesys-om doctor` against the emulator, set up right and set up wrong in each way it can be."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from doctor.helpers import FLAGS, ORDER, PUBLIC_URL, Doctor, run_cli, write
from extension.doctor import Check
from extension.doctor.checks import Checklist, check_region
from extension.testing.emulator import Emulator, EmulatorConfig, IntegrationConfig, QueueConfig
from extension.testing.emulator.config import DEFAULT_CLIENT_ID, DEFAULT_WEBHOOK_SECRET


def failing(checks: dict[str, Check]) -> list[str]:
    return [c.id for c in checks.values() if c.status != "pass"]


async def test_all_green(doctor: Doctor) -> None:
    checks = await doctor()
    assert failing(checks) == []
    assert checks["webhook_url"].detail == f"{PUBLIC_URL}/handover/genesysCloudOM as expected"
    assert "Bot handover inbound flow" in checks["flow"].detail
    assert all(c.hint is None for c in checks.values())


async def test_wrong_client_secret(doctor: Doctor) -> None:
    checks = await doctor(clientSecret="not-the-right-secret")
    assert checks["token"].status == "fail" and "client id or secret" in (checks["token"].hint or "")
    assert {checks[i].status for i in ORDER[3:9]} == {"skip"}
    assert checks["flags"].status == checks["webhook_secret"].status == "pass"


async def test_wrong_client_secret_names_credentials_or_region(doctor: Doctor, emulator: Emulator) -> None:
    checks = await doctor(clientSecret="not-the-right-secret")
    hint = checks["token"].hint or ""
    assert hint.startswith("Wrong client id or secret, or wrong region:")
    assert f"the login service at {emulator.base_url}" in hint and "clientSecret" in hint and "set host" in hint


@pytest.fixture
async def other_region() -> AsyncIterator[Emulator]:
    """Another region's login service: it answers, but its organisations have other OAuth clients."""
    emu = Emulator(EmulatorConfig(clients={"someone-elses-client": "someone-elses-secret-0123"}))
    await emu.start()
    yield emu
    await emu.stop()


async def test_wrong_region(doctor: Doctor, other_region: Emulator) -> None:
    # The client exists in the first organisation; the second region's login service does not know it.
    checks = await doctor(host=other_region.base_url or "")
    token = checks["token"]
    assert token.status == "fail" and token.detail == "token request refused: client not found"
    hint = token.hint or ""
    assert "client id or secret, or wrong region" in hint and "set host to the region" in hint
    assert other_region.base_url is not None and other_region.base_url in hint
    assert checks["integration"].detail == "not checked: needs an access token"
    assert "someone-elses-secret" not in json.dumps([vars(c) for c in checks.values()])


def test_region_host_must_be_known() -> None:
    run = Checklist("support")
    assert check_region(run, "https://apps.mypurecloud.de/directory") is not None
    assert check_region(run, "mypurecloud.dee") is None
    assert check_region(run, "mypurecloud.de.example.com") is None
    ok, unknown, invalid = run.checks
    assert ok.status == "pass" and "mypurecloud.de is a known" in ok.detail
    assert unknown.status == "fail" and "did you mean 'mypurecloud.de'?" in unknown.detail
    assert invalid.status == "fail" and "mypurecloud.de or usw2.pure.cloud" in (invalid.hint or "")


async def test_integration_name_typo_lists_the_closest_names(doctor: Doctor, emulator: Emulator) -> None:
    for name in ("Zebra", "Bot Handover Test", "Support Bot"):
        emulator.add_integration(IntegrationConfig(id=f"id-{name}", name=name))
    checks = await doctor(deploymentName="BotHandovr")
    integration = checks["integration"]
    assert integration.status == "fail"
    assert "existing ones, closest first: 'BotHandover', 'Bot Handover Test'" in integration.detail
    assert "did you mean 'BotHandover'?" in (integration.hint or "")
    assert [checks[i].status for i in ("integration_created", "webhook_url", "flow")] == ["skip"] * 3
    assert checks["queue"].status == "pass"


async def test_integration_not_created(doctor: Doctor, emulator: Emulator) -> None:
    emulator.update_integration(emulator.integration.id, create_status="Initiated")
    checks = await doctor()
    assert failing(checks) == ["integration_created"]
    assert "still creating" in (checks["integration_created"].hint or "")


async def test_webhook_url_mismatch(doctor: Doctor, emulator: Emulator) -> None:
    emulator.update_integration(emulator.integration.id, webhook_url="https://old.example.com/hook")
    checks = await doctor()
    assert failing(checks) == ["webhook_url"]
    assert "posts to https://old.example.com/hook" in checks["webhook_url"].detail
    assert f"{PUBLIC_URL}/handover/genesysCloudOM" in (checks["webhook_url"].hint or "")


async def test_integration_not_linked_to_a_flow(doctor: Doctor, emulator: Emulator) -> None:
    emulator.update_integration(emulator.integration.id, flow_id=None)
    checks = await doctor()
    assert failing(checks) == ["flow"]
    assert "Message Routing" in (checks["flow"].hint or "")


async def test_missing_queue(doctor: Doctor, emulator: Emulator) -> None:
    emulator.remove_queue(emulator.queue.id)
    emulator.add_queue(QueueConfig(id="q-sales", name="Sales"))
    emulator.add_queue(QueueConfig(id="q-sup", name="Suport"))
    checks = await doctor()
    assert failing(checks) == ["queue"]
    assert "closest first: 'Suport', 'Sales'" in checks["queue"].detail


async def test_notifications_channel_refused(doctor: Doctor, emulator: Emulator) -> None:
    emulator.faults.server_error("/api/v2/notifications/channels", method="POST", times=None)
    checks = await doctor()
    assert failing(checks) == ["notifications", "notification_permissions"]
    assert checks["notification_permissions"].status == "skip"
    assert "at most 20 channels" in (checks["notifications"].hint or "")


async def test_a_missing_notifications_permission_is_named_with_its_fix(doctor: Doctor, emulator: Emulator) -> None:
    emulator.config.missing_permissions[DEFAULT_CLIENT_ID] = ["analytics:conversationDetail:view"]
    checks = await doctor()
    assert failing(checks) == ["notification_permissions"]
    check = checks["notification_permissions"]
    assert "lacks analytics:conversationDetail:view" in check.detail
    assert "Add analytics:conversationDetail:view to a role of the OAuth client" in (check.hint or "")
    # The probe leaves its channel without subscriptions (the API cannot delete a channel).
    [channel] = emulator.notifications.channels.values()
    assert channel.topics == []


async def test_the_probe_subscription_is_removed_when_it_is_accepted(doctor: Doctor, emulator: Emulator) -> None:
    checks = await doctor()
    assert checks["notification_permissions"].status == "pass"
    assert checks["notification_permissions"].detail == "v2.detail.events.conversation.{id}.* topics are accepted"
    assert [r.method for r in emulator.requests if r.path.endswith("/subscriptions")] == ["PUT", "DELETE"]
    assert all(c.topics == [] for c in emulator.notifications.channels.values())


async def test_short_secret_is_reported_not_fatal(doctor: Doctor) -> None:
    checks = await doctor(webhookSecret="short-secret")
    assert failing(checks) == ["webhook_secret"]
    assert checks["webhook_secret"].detail == "webhookSecret has only 12 characters"
    assert "short-secret" not in json.dumps([vars(c) for c in checks.values()])


async def test_flags_off(doctor: Doctor) -> None:
    checks = await doctor(env={})
    assert failing(checks) == ["flags"]
    assert "FEATURE_ENABLE_GENESYS_CLOUD_OM=true" in (checks["flags"].hint or "")
    other_org = await doctor(env={**FLAGS, "FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST": "someone-else"})
    assert failing(other_org) == ["flags"] and "'acme'" in (other_org["flags"].hint or "")


async def test_other_config_errors_are_reported_too(doctor: Doctor) -> None:
    checks = await doctor(queue="")
    assert checks["config"].status == "fail" and "connections.support.queue" in checks["config"].detail
    assert checks["queue"].status == "fail"




async def test_the_command(tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FLAGS.items():
        monkeypatch.setenv(name, value)
    path = write(tmp_path, emulator)
    code, out, _ = await run_cli("doctor", "--config", str(path))
    assert code == 0, out
    assert "  ok    queue 'Support' exists: id " in out and "Result: all checks passed (12 of 12" in out

    path = write(tmp_path, emulator, clientSecret="a-wrong-client-secret", webhookSecret="tiny")
    code, out, _ = await run_cli("doctor", "--config", str(path), "--connection", "support")
    assert code == 1
    assert "  FAIL  access token" in out and "        fix: Wrong client id or secret" in out
    code, raw, _ = await run_cli("doctor", "--config", str(path), "--json")
    report: dict[str, Any] = json.loads(raw)
    assert code == 1 and report["ok"] is False
    assert {c["id"]: c["status"] for c in report["checks"]}["webhook_secret"] == "fail"
    for secret in ("a-wrong-client-secret", "tiny", DEFAULT_WEBHOOK_SECRET):
        assert secret not in out + raw

    code, _, err = await run_cli("doctor", "--config", str(path), "--connection", "nope")
    assert code == 1 and "no genesysCloudOM connection named 'nope' (the config has: support)" in err
    code, _, err = await run_cli("doctor", "--config", str(tmp_path / "missing.toml"))
    assert code == 1 and "config file not found" in err
