"""Subscriptions to topics the OAuth client may not read: refused like Genesys refuses them."""

from __future__ import annotations

from extension.testing.emulator.config import DEFAULT_CLIENT_ID

from .conftest import Api

CHANNELS = "/api/v2/notifications/channels"
PERMISSION = "analytics:conversationDetail:view"
DETAIL = "v2.detail.events.conversation.c-1.user.end"
OTHER = "v2.users.u-1.presence"


async def test_without_ignore_errors_one_refused_topic_fails_the_whole_request(api: Api) -> None:
    api.emulator.config.missing_permissions[DEFAULT_CLIENT_ID] = [PERMISSION]
    _, channel, _ = await api.call("POST", CHANNELS)
    path = f"{CHANNELS}/{channel['id']}/subscriptions"
    status, body, _ = await api.call("PUT", path, [{"id": OTHER}, {"id": DETAIL}])
    assert status == 403 and body["code"] == "missing.permissions" and PERMISSION in body["message"]
    assert (await api.call("GET", path))[1] == {"entities": []}


async def test_with_ignore_errors_refused_topics_are_rejected_and_the_others_subscribed(api: Api) -> None:
    api.emulator.config.missing_permissions[DEFAULT_CLIENT_ID] = [PERMISSION]
    _, channel, _ = await api.call("POST", CHANNELS)
    path = f"{CHANNELS}/{channel['id']}/subscriptions"
    for method in ("PUT", "POST"):
        status, body, _ = await api.call(method, path + "?ignoreErrors=true", [{"id": OTHER}, {"id": DETAIL}])
        assert status == 200
        assert body["entities"] == [
            {"id": OTHER, "state": "Permitted"},
            {"id": DETAIL, "state": "Rejected", "rejectionReason": "Missing permissions",
             "missingPermissions": [PERMISSION]},
        ]
        assert (await api.call("GET", path))[1] == {"entities": [{"id": OTHER}]}


async def test_a_client_with_the_permission_subscribes_every_topic(api: Api) -> None:
    _, channel, _ = await api.call("POST", CHANNELS)
    path = f"{CHANNELS}/{channel['id']}/subscriptions"
    status, body, _ = await api.call("PUT", path, [{"id": DETAIL}])
    assert status == 200 and body["entities"] == [{"id": DETAIL, "state": "Permitted"}]
