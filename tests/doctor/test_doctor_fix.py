"""`genesys-om doctor --fix`: the integration's webhook URL and signature secret, set through the API."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from doctor.helpers import FLAGS, PUBLIC_URL, run_cli, write
from extension.doctor.fixes import SECRET_FIELD, URL_FIELD, integration_changes
from extension.genesys import GenesysClientError, Integration
from extension.testing.emulator import Emulator
from extension.testing.emulator.config import DEFAULT_WEBHOOK_SECRET

EXPECTED_URL = f"{PUBLIC_URL}/handover/genesysCloudOM"
OLD_SECRET = "the-secret-genesys-was-given-first"  # noqa: S105 - a test value


class Terminal(io.StringIO):
    """A stdin that is a terminal, with the user's answers typed in advance."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def misconfigured(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The two silent mistakes: the integration posts elsewhere and signs with another secret."""
    for name, value in FLAGS.items():
        monkeypatch.setenv(name, value)
    emulator.update_integration(emulator.integration.id, webhook_url="https://old.example.com/hook",
                                webhook_secret=OLD_SECRET)
    return emulator


def patches(emulator: Emulator) -> list[Any]:
    return [r for r in emulator.requests if r.method == "PATCH" and "/integrations/open/" in r.path]


async def test_fix_yes_sets_the_url_and_the_secret(tmp_path: Path, misconfigured: Emulator) -> None:
    code, out, _ = await run_cli("doctor", "--config", str(write(tmp_path, misconfigured)), "--fix", "--yes")

    assert code == 0, out
    integration = misconfigured.integration
    assert (integration.webhook_url, integration.webhook_secret) == (EXPECTED_URL, DEFAULT_WEBHOOK_SECRET)
    [patch] = patches(misconfigured)
    assert patch.path == f"/api/v2/conversations/messaging/integrations/open/{integration.id}" and patch.status == 200
    assert patch.json == {URL_FIELD: EXPECTED_URL, SECRET_FIELD: DEFAULT_WEBHOOK_SECRET}
    before, after = out.split("After the changes:")
    assert "  FAIL  integration webhook URL" in before and "doctor --fix" in before
    assert f"outbound notification webhook URL: https://old.example.com/hook -> {EXPECTED_URL}" in before
    assert "signature secret: set to the value of webhookSecret" in before and "  changed" in before
    assert "Result: all checks passed" in after and f"ok    integration webhook URL: {EXPECTED_URL}" in after
    # Checked again without a second notifications channel (each one may push out a live one).
    assert len([r for r in misconfigured.requests if r.path == "/api/v2/notifications/channels"]) == 1
    for secret in (DEFAULT_WEBHOOK_SECRET, OLD_SECRET):
        assert secret not in out


async def test_without_a_terminal_and_without_yes_nothing_changes(tmp_path: Path, misconfigured: Emulator) -> None:
    # Under the test runner stdin is no terminal: the doctor says what it would do, and how to do it.
    code, out, _ = await run_cli("doctor", "--config", str(write(tmp_path, misconfigured)), "--fix")

    assert code == 1
    assert patches(misconfigured) == []
    assert misconfigured.integration.webhook_url == "https://old.example.com/hook"
    assert "will set" in out and "stdin is not a terminal" in out and "--fix --yes" in out
    assert "After the changes:" not in out


async def test_the_doctor_asks_first(tmp_path: Path, misconfigured: Emulator,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(write(tmp_path, misconfigured))
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    code, out, _ = await run_cli("doctor", "--config", path, "--fix")
    assert code == 1 and "Apply these changes to the integration in Genesys Cloud? [y/N]" in out
    assert "  not changed" in out and patches(misconfigured) == []

    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    code, out, _ = await run_cli("doctor", "--config", path, "--fix")
    assert code == 0, out
    assert misconfigured.integration.webhook_url == EXPECTED_URL and len(patches(misconfigured)) == 1


async def test_fix_in_json_needs_yes_and_reports_each_change(tmp_path: Path, misconfigured: Emulator) -> None:
    path = str(write(tmp_path, misconfigured))
    code, raw, err = await run_cli("doctor", "--config", path, "--json", "--fix")
    report = json.loads(raw)
    assert code == 1 and report["fixes"][0]["outcome"] == "not asked" and patches(misconfigured) == []
    assert "--fix --yes" in err

    code, raw, _ = await run_cli("doctor", "--config", path, "--json", "--fix", "--yes")
    report = json.loads(raw)
    assert code == 0 and report["ok"] is True
    [fix] = report["fixes"]
    assert fix["outcome"] == "applied" and [c["field"] for c in fix["changes"]] == [URL_FIELD, SECRET_FIELD]
    assert DEFAULT_WEBHOOK_SECRET not in raw + err and OLD_SECRET not in raw + err


def integration(**raw: Any) -> Integration:
    return Integration.from_api({"id": "i-1", "name": "BotHandover", URL_FIELD: EXPECTED_URL, **raw})


def test_a_secret_genesys_shows_is_compared_not_blindly_set() -> None:
    same = integration(**{SECRET_FIELD: DEFAULT_WEBHOOK_SECRET})
    assert integration_changes(same, PUBLIC_URL, DEFAULT_WEBHOOK_SECRET) == ([], [])
    other, _ = integration_changes(integration(**{SECRET_FIELD: OLD_SECRET}), PUBLIC_URL, DEFAULT_WEBHOOK_SECRET)
    assert [c.name for c in other] == [SECRET_FIELD] and "differs" in other[0].shown
    masked, _ = integration_changes(integration(**{SECRET_FIELD: "********"}), PUBLIC_URL, DEFAULT_WEBHOOK_SECRET)
    assert [c.name for c in masked] == [SECRET_FIELD] and "does not show" in masked[0].shown
    assert all(DEFAULT_WEBHOOK_SECRET not in c.shown and DEFAULT_WEBHOOK_SECRET not in repr(c) for c in other + masked)


def test_a_short_secret_or_no_public_url_is_not_set() -> None:
    changes, notes = integration_changes(integration(**{URL_FIELD: "https://x"}), None, "tiny")
    assert changes == []
    assert any("public_url" in n for n in notes) and any("more than 15" in n for n in notes)


async def test_a_refused_change_is_said_and_changes_nothing(tmp_path: Path, misconfigured: Emulator) -> None:
    misconfigured.faults.server_error("/api/v2/conversations/messaging/integrations/open/*", method="PATCH",
                                      times=None)
    code, out, _ = await run_cli("doctor", "--config", str(write(tmp_path, misconfigured)), "--fix", "--yes")
    assert code == 1
    assert "  not changed: PATCH /api/v2/conversations/messaging/integrations/open/" in out and "503" in out
    assert "After the changes:" not in out
    assert misconfigured.integration.webhook_url == "https://old.example.com/hook"
    assert DEFAULT_WEBHOOK_SECRET not in out


async def test_an_error_that_echoes_the_secret_does_not_print_it() -> None:
    from extension.doctor.fixes import Change, Fix, apply

    class Refusing:
        async def update_integration(self, integration_id: str, changes: dict[str, str]) -> None:
            raise GenesysClientError(f"invalid value {changes[SECRET_FIELD]}", status=400, code="invalid.value")

    fix = Fix("support", integration(), [Change(SECRET_FIELD, "secret", "set", DEFAULT_WEBHOOK_SECRET)],
              Refusing())  # type: ignore[arg-type]
    await apply(fix)
    assert fix.outcome == "failed" and fix.error is not None
    assert DEFAULT_WEBHOOK_SECRET not in fix.error and "invalid value ***" in fix.error
