"""PATCH of an Open Messaging integration, as strict as the SDK's OpenIntegrationUpdateRequest."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import SECRET, Api

PATH = "/api/v2/conversations/messaging/integrations/open/integration-1"
NEW_SECRET = "a-new-signature-secret-0123456789"  # noqa: S105 - a test value


async def test_the_webhook_url_and_secret_are_set_and_the_secret_never_shown(api: Api) -> None:
    body = {"outboundNotificationWebhookUrl": "https://bot.example.com/handover/genesysCloudOM",
            "outboundNotificationWebhookSignatureSecretToken": NEW_SECRET,
            "name": "BotHandover", "webhookHeaders": {"X-Env": "prod"},
            "supportedContent": {"id": "default-supported-content"}, "messagingSetting": {"id": "ms-1"}}

    status, answer, headers = await api.call("PATCH", PATH, body)

    assert status == 200, answer
    assert answer["id"] == "integration-1" and answer["outboundNotificationWebhookUrl"] == body[
        "outboundNotificationWebhookUrl"]
    assert NEW_SECRET not in str(answer) and headers["ININ-Correlation-Id"]
    integration = api.emulator.config.integration("integration-1")
    assert integration is not None and integration.webhook_secret == NEW_SECRET
    # What the list shows now.
    _, listing, _ = await api.call("GET", "/api/v2/conversations/messaging/integrations/open")
    assert listing["entities"][0]["outboundNotificationWebhookUrl"] == body["outboundNotificationWebhookUrl"]


@pytest.mark.parametrize(("body", "code", "field"), [
    ({"webhookUrl": "https://x.example.com"}, "bad.request", "webhookUrl"),
    ({"outboundNotificationWebhookUrl": 42}, "invalid.value", "outboundNotificationWebhookUrl"),
    ({"outboundNotificationWebhookUrl": "not-a-url"}, "invalid.value", "outboundNotificationWebhookUrl"),
    ({"outboundNotificationWebhookSignatureSecretToken": "short"}, "invalid.value",
     "outboundNotificationWebhookSignatureSecretToken"),
    ({"outboundNotificationWebhookSignatureSecretToken": ["a"]}, "invalid.value",
     "outboundNotificationWebhookSignatureSecretToken"),
    ({"webhookHeaders": {"X": {"nested": "no"}}}, "invalid.value", "webhookHeaders.X"),
    ({"supportedContent": "default"}, "invalid.value", "supportedContent"),
    ({"messagingSetting": {"id": "ms-1", "name": "extra"}}, "bad.request", "messagingSetting.name"),
    ({"id": "another-integration"}, "invalid.value", "id"),
    (["outboundNotificationWebhookUrl"], "invalid.value", "body"),
])
async def test_a_body_outside_the_model_is_refused(api: Api, body: Any, code: str, field: str) -> None:
    status, answer, _ = await api.call("PATCH", PATH, body)
    assert status == 400, answer
    assert answer["code"] == code and answer["details"] == [{"fieldName": field}]
    integration = api.emulator.config.integration("integration-1")
    assert integration is not None and integration.webhook_secret == SECRET


async def test_an_unknown_integration_is_not_found(api: Api) -> None:
    status, answer, _ = await api.call("PATCH", PATH.replace("integration-1", "nope"), {"name": "x"})
    assert status == 404 and answer["code"] == "not.found"
