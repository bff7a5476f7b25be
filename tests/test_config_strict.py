"""Strict configuration: each mistake gets exactly one error, named by its TOML path, and a hint."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from extension import cli
from extension.config import ConfigError, config_warnings, load_config, parse_config
from extension.interpolation import MALFORMED
from extension.manifest import Manifest

from support import CLIENT_SECRET

ENV = {"GENESYS_CLIENT_SECRET": "the-real-secret-from-the-environment"}


def errors_after(write_config: Callable[..., Path], manifest: Manifest, change: Callable[[dict[str, Any]], None],
                 env: dict[str, str] | None = None) -> list[str]:
    path = write_config()
    raw = tomllib.loads(path.read_text())
    change(raw)
    with pytest.raises(ConfigError) as info:
        parse_config(raw, path, manifest, env=ENV if env is None else env)
    return info.value.errors


def setting(section: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        table = raw
        for part in section.split("."):
            table = table[int(part)] if part.isdigit() else table.setdefault(part, {})
        table[key] = value

    return change


def renaming(section: str, old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        table = raw
        for part in filter(None, section.split(".")):
            table = table[int(part)] if part.isdigit() else table[part]
        table[new] = table.pop(old)

    return change


@pytest.mark.parametrize("written", [
    "$GENESYS_CLIENT_SECRET",
    "${GENESYS_CLIENT_SECRET",
    "$ {GENESYS_CLIENT_SECRET}",
    "${GENESYS CLIENT SECRET}",
    "s3cr$t-typed-as-is",
    "ends-with-a-dollar$",
])
def test_a_dollar_that_is_not_a_reference_is_an_error_naming_the_path(
    write_config: Callable[..., Path], manifest: Manifest, written: str
) -> None:
    errors = errors_after(write_config, manifest, setting("connections.support", "clientSecret", written))
    assert errors == ['connections.support.clientSecret: a "$" that does not start a complete ${NAME} '
                      'must be written "$$"']
    assert errors == [f"connections.support.clientSecret: {MALFORMED}"]


def test_dollar_dollar_and_complete_references_still_work(write_config: Callable[..., Path],
                                                          manifest: Manifest) -> None:
    path = write_config()
    text = path.read_text().replace(f'clientSecret = "{CLIENT_SECRET}"', 'clientSecret = "$${GENESYS_CLIENT_SECRET}"')
    path.write_text(text.replace('clientId = "client-1"', 'clientId = "id-${GENESYS_CLIENT_SECRET}-$$"'))
    conn = load_config(path, manifest, env=ENV).connections["support"]
    assert conn["clientSecret"].reveal() == "${GENESYS_CLIENT_SECRET}"
    assert conn["clientId"] == f"id-{ENV['GENESYS_CLIENT_SECRET']}-$"


@pytest.mark.parametrize(("section", "key"), [
    ("connections.support", "clientSecret"),    # a secret of at least 1 character
    ("connections.support", "webhookSecret"),   # a secret of at least 16 characters
    ("connections.support", "clientId"),        # required text
    ("server", "host"),                          # text of at least 1 character
    ("server", "copilot_secret"),               # a secret of at least 32 characters
    ("store", "url"),                            # a store URL
    ("endpoints.0", "urlToken"),                # a pattern
])
def test_a_missing_variable_is_one_error_in_one_wording(
    write_config: Callable[..., Path], manifest: Manifest, section: str, key: str
) -> None:
    errors = errors_after(write_config, manifest, setting(section, key, "${NOT_SET_ANYWHERE}"), env={})
    path = f"{section.replace('.0', '[0]')}.{key}"
    assert errors == [f"{path}: environment variable NOT_SET_ANYWHERE is not set"]


def test_two_fields_with_missing_variables_give_two_errors(write_config: Callable[..., Path],
                                                          manifest: Manifest) -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["connections"]["support"]["clientSecret"] = "${A_SECRET}"
        raw["connections"]["support"]["webhookSecret"] = "${B_SECRET}-${C_SECRET}"

    assert errors_after(write_config, manifest, change, env={}) == [
        "connections.support.webhookSecret: environment variable B_SECRET is not set",
        "connections.support.clientSecret: environment variable A_SECRET is not set",
    ]


def test_a_misspelt_key_is_named_even_when_its_variable_is_not_set(write_config: Callable[..., Path],
                                                                  manifest: Manifest) -> None:
    def change(raw: dict[str, Any]) -> None:
        del raw["connections"]["support"]["clientSecret"]
        raw["connections"]["support"]["clientSecrt"] = "${NOT_SET_ANYWHERE}"

    assert errors_after(write_config, manifest, change, env={}) == [
        "connections.support.clientSecrt: unknown key; did you mean 'clientSecret'?"]


@pytest.mark.parametrize(("change", "expected"), [
    (renaming("", "server", "servr"), "servr: unknown section; did you mean 'server'?"),
    (renaming("server", "public_url", "publicUrl"), "server.publicUrl: unknown key; did you mean 'public_url'?"),
    (setting("server", "web_chat", False), "server.web_chat: unknown key; did you mean 'webchat'?"),
    (renaming("store", "url", "urls"), "store.urls: unknown key; did you mean 'url'?"),
    (setting("handover", "acw_timout_seconds", 1),
     "handover.acw_timout_seconds: unknown key; did you mean 'acw_timeout_seconds'?"),
    (renaming("connections.support", "queue", "queu"), "connections.support.queu: unknown key; did you mean 'queue'?"),
    (renaming("connections.support", "clientSecret", "clientsecret"),
     "connections.support.clientsecret: unknown key; did you mean 'clientSecret'?"),
    (renaming("endpoints.0", "urlToken", "urltoken"), "endpoints[0].urltoken: unknown key; did you mean 'urlToken'?"),
    (renaming("endpoints.0", "flow", "flows"), "endpoints[0].flows: unknown key; did you mean 'flow'?"),
])
def test_a_misspelt_key_gets_one_error_with_the_key_meant(
    write_config: Callable[..., Path], manifest: Manifest, change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    errors = errors_after(write_config, manifest, change)
    assert errors == [expected]
    assert CLIENT_SECRET not in "\n".join(errors)


def test_validate_warns_when_genesys_cannot_be_told_the_webhook_url(
    write_config: Callable[..., Path], manifest: Manifest, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config()
    path.write_text(path.read_text().replace('public_url = "https://bot.example.com"\n', ""))
    expected = ("server.public_url: not set, so Genesys Cloud cannot be told where to send the webhooks of "
                "connection(s) support; set it to the https address at which Genesys Cloud reaches this runtime")
    assert config_warnings(load_config(path, manifest, env={})) == [expected]
    assert cli.main(["validate", "--config", str(path)]) == 0
    out = capsys.readouterr()
    assert out.err == f"warning: {expected}\n"
    assert out.out.startswith(f"{path}: OK")


def test_no_warning_with_a_public_url_or_without_a_handover(
    write_config: Callable[..., Path], manifest: Manifest
) -> None:
    assert config_warnings(load_config(write_config(), manifest, env={})) == []
    path = write_config(handover=False)
    path.write_text(path.read_text().replace('public_url = "https://bot.example.com"\n', ""))
    assert config_warnings(load_config(path, manifest, env={})) == []
