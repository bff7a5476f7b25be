"""PATCH of an Open Messaging integration, held to the SDK's OpenIntegrationUpdateRequest model.

Fields and types come from the model (and its SupportedContentReference and
MessagingSettingRequestReference); an unknown field or a wrong type is refused with 400, as
Genesys' JSON binding refuses it. The answer is the integration (OpenIntegration), secret not shown.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .config import IntegrationConfig
from .discovery import INTEGRATIONS_PATH, integration_json
from .errors import error_response
from .keys import EMULATOR
from .validation import BodyError, _known_fields, _string, _string_map

PATH = INTEGRATIONS_PATH + "/{integrationId}"
# Genesys asks for a signature secret of more than 15 characters.
MIN_SECRET = 16

_FIELDS = {"id", "name", "supportedContent", "messagingSetting", "outboundNotificationWebhookUrl",
           "outboundNotificationWebhookSignatureSecretToken", "webhookHeaders", "selfUri"}
_SUPPORTED_CONTENT_FIELDS = {"id", "name", "selfUri", "mediaTypes"}
_MESSAGING_SETTING_FIELDS = {"id"}


def validate_update(body: Any, integration_id: str) -> dict[str, Any]:
    """The IntegrationConfig changes an OpenIntegrationUpdateRequest asks for; BodyError if malformed."""
    if not isinstance(body, dict):
        raise BodyError("The request body must be an object", "body", "invalid.value")
    _known_fields(body, _FIELDS, "")
    for key in ("id", "name", "outboundNotificationWebhookUrl",
                "outboundNotificationWebhookSignatureSecretToken", "selfUri"):
        _string(body, key, "", required=False)
    if body.get("id") not in (None, integration_id):
        raise BodyError("id does not match the integration of the path", "id", "invalid.value")
    for key, allowed in (("supportedContent", _SUPPORTED_CONTENT_FIELDS),
                         ("messagingSetting", _MESSAGING_SETTING_FIELDS)):
        reference = body.get(key)
        if reference is not None:
            if not isinstance(reference, dict):
                raise BodyError(f"{key} must be an object", key, "invalid.value")
            _known_fields(reference, allowed, key)
            _string(reference, "id", key)
    if body.get("webhookHeaders") is not None:
        _string_map(body["webhookHeaders"], "webhookHeaders")
    changes: dict[str, Any] = {}
    if body.get("name") is not None:
        changes["name"] = body["name"]
    url = body.get("outboundNotificationWebhookUrl")
    if url is not None:
        if not url.startswith(("https://", "http://")):
            raise BodyError("outboundNotificationWebhookUrl must be an absolute URL",
                            "outboundNotificationWebhookUrl", "invalid.value")
        changes["webhook_url"] = url
    secret = body.get("outboundNotificationWebhookSignatureSecretToken")
    if secret is not None:
        if len(secret) < MIN_SECRET:
            raise BodyError("outboundNotificationWebhookSignatureSecretToken must have more than 15 characters",
                            "outboundNotificationWebhookSignatureSecretToken", "invalid.value")
        changes["webhook_secret"] = secret
    return changes


async def patch_integration(request: web.Request) -> web.Response:
    """PATCH an Open Messaging integration (webhook URL, signature secret, name, ...)."""
    emulator = request.app[EMULATOR]
    integration_id = request.match_info["integrationId"]
    integration: IntegrationConfig | None = emulator.config.integration(integration_id)
    if integration is None:
        return error_response(request, 404, "Integration not found", code="not.found")
    try:
        body = json.loads(await request.read())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return error_response(request, 400, "The request body is not valid JSON")
    try:
        changes = validate_update(body, integration_id)
    except BodyError as exc:
        return error_response(request, 400, exc.message, code=exc.code, field_name=exc.field)
    return web.json_response(integration_json(emulator.update_integration(integration_id, **changes)))


def add_routes(app: web.Application) -> None:
    """Declare the integration update route."""
    app.router.add_patch(PATH, patch_integration)
