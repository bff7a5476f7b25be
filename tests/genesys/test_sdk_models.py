"""Every body we send deserialises into the official Genesys SDK's request model, losslessly."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aioresponses import aioresponses
from dateutil.parser import isoparse

from extension.genesys import GenesysClient
from extension.genesys.messages import Attachment, delivery_receipt, inbound_text, inbound_typing

from .conftest import API, calls, grant_token

sdk = pytest.importorskip("PureCloudPlatformClientV2")

WHEN = datetime(2026, 1, 15, 10, 0, 5, 427000, tzinfo=UTC)
# Keys the Genesys documentation shows (docs/GENESYS_NOTES.md section 4) that this SDK version's
# models do not carry; the SDK drops them.
NOT_IN_SDK_MODEL = {"channel.metadata.customAttributes", "content[].contentType"}


def round_trip(body: Any, model: str) -> tuple[Any, Any]:
    """The SDK model built from `body`, and that model serialised back to JSON."""
    client = sdk.ApiClient()
    instance = client._ApiClient__deserialize(body, model)
    return instance, client.sanitize_for_serialization(instance)


def lost_keys(ours: Any, theirs: Any, path: str = "") -> set[str]:
    """Dotted paths we sent that the SDK model did not keep; values compared on the way."""
    if isinstance(ours, dict):
        lost = set()
        for key, value in ours.items():
            where = f"{path}.{key}" if path else key
            if not isinstance(theirs, dict) or key not in theirs:
                lost.add(where)
            else:
                lost |= lost_keys(value, theirs[key], where)
        return lost
    if isinstance(ours, list):
        assert isinstance(theirs, list) and len(theirs) == len(ours), path
        return set().union(*(lost_keys(o, t, f"{path}[]") for o, t in zip(ours, theirs,
                                                                        strict=True)))
    if path.endswith("time"):
        assert isoparse(ours) == isoparse(theirs), path
    else:
        assert ours == theirs, path
    return set()


def no_outdated_enums(value: Any) -> bool:
    """The SDK stores an enum value it does not know as 'outdated_sdk_version'."""
    if isinstance(value, dict):
        return all(no_outdated_enums(v) for v in value.values())
    if isinstance(value, list):
        return all(no_outdated_enums(v) for v in value)
    return value != "outdated_sdk_version"


def full_message() -> dict[str, Any]:
    return inbound_text(
        "m-0001", "h-7f3a", "I would like to talk to a person.", time=WHEN,
        attachment=Attachment("https://files.example/a.png", "Image", "image/png", "a.png"),
        custom_attributes={"sessionId": "s-1", "queue": "Support"},
        first_name="Jane", last_name="Doe", email="jane@example.com", nickname="Jane Doe",
    )


def test_inbound_message_survives_the_sdk_model() -> None:
    body = full_message()
    instance, serialised = round_trip(body, "OpenInboundNormalizedMessage")

    assert lost_keys(body, serialised) <= NOT_IN_SDK_MODEL
    assert no_outdated_enums(instance.to_dict())
    as_dict = instance.to_dict()
    assert as_dict["channel"]["message_id"] == "m-0001"
    assert as_dict["channel"]["pcFrom"]["id"] == "h-7f3a"
    assert as_dict["channel"]["pcFrom"]["first_name"] == "Jane"
    assert as_dict["text"] == "I would like to talk to a person."
    assert as_dict["content"][0]["attachment"]["media_type"] == "Image"


def test_custom_attributes_survive_the_sdk_model() -> None:
    channel_metadata = sdk.models.ConversationChannelMetadata()
    if "custom_attributes" not in channel_metadata.swagger_types:
        pytest.skip("this SDK version types channel.metadata without customAttributes "
                    "(only subType); docs/GENESYS_NOTES.md section 4 is followed instead")
    instance, _ = round_trip(full_message(), "OpenInboundNormalizedMessage")
    assert instance.to_dict()["channel"]["metadata"]["custom_attributes"] == {
        "sessionId": "s-1", "queue": "Support"}


@pytest.mark.parametrize("id_type", ["Opaque", "Email", "Phone"])
def test_every_id_type_is_one_the_sdk_knows(id_type: str) -> None:
    instance, _ = round_trip(inbound_text("m", "h", "x", time=WHEN, id_type=id_type),
                             "OpenInboundNormalizedMessage")
    assert instance.channel.pcFrom.id_type == id_type


def test_typing_event_survives_the_sdk_model() -> None:
    body = inbound_typing("h-7f3a", time=WHEN)
    instance, serialised = round_trip(body, "OpenInboundNormalizedEvent")
    assert lost_keys(body, serialised) == set()
    assert no_outdated_enums(instance.to_dict())
    assert instance.events[0].event_type == "Typing"


@pytest.mark.parametrize(
    ("status", "reasons"),
    [("Delivered", []),
     ("Failed", [("GeneralError", "x"), ("InvalidDestination", "y"), ("UnsupportedMessage", "z"),
                 ("MessageExpired", "w"), ("RateLimited", "v")])],
)
def test_receipt_survives_the_sdk_model(status: str, reasons: list[tuple[str, str]]) -> None:
    body = delivery_receipt("w-1", "h-7f3a", status, reasons, time=WHEN)
    instance, serialised = round_trip(body, "OpenInboundNormalizedReceipt")
    assert lost_keys(body, serialised) == set()
    assert no_outdated_enums(instance.to_dict())
    assert (instance.id, instance.status, instance.is_final_receipt) == ("w-1", status, True)
    assert instance.channel.to.id == "h-7f3a"


async def test_the_disconnect_body_is_a_media_participant_request(
    mocked: aioresponses, client: GenesysClient
) -> None:
    grant_token(mocked)
    conversation = f"{API}/api/v2/conversations/messages/c-1"
    mocked.get(conversation, payload={"participants": [
        {"id": "p-1", "purpose": "customer", "state": "connected"}]})
    mocked.patch(f"{conversation}/participants/p-1", status=202)
    await client.disconnect_customer("c-1")

    [sent] = calls(mocked, "PATCH", f"{conversation}/participants/p-1")
    instance, serialised = round_trip(sent["json"], "MediaParticipantRequest")
    assert lost_keys(sent["json"], serialised) == set()
    assert instance.state == "disconnected"


async def test_the_subscription_body_is_a_list_of_channel_topics(
    mocked: aioresponses, client: GenesysClient
) -> None:
    grant_token(mocked)
    url = f"{API}/api/v2/notifications/channels/ch-1/subscriptions?ignoreErrors=true"
    mocked.put(url, payload={"entities": []})
    await client.replace_subscriptions("ch-1", ["v2.detail.events.conversation.c-1.user.end"])

    [sent] = calls(mocked, "PUT", url)
    instances, serialised = round_trip(sent["json"], "list[ChannelTopic]")
    assert lost_keys(sent["json"], serialised) == set()
    assert instances[0].id == "v2.detail.events.conversation.c-1.user.end"
