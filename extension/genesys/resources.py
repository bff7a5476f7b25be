"""Typed views of the Genesys resources the handover needs: integrations, queues, channels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import GenesysBadResponse


@dataclass(frozen=True)
class Integration:
    """An Open Messaging integration."""

    id: str
    name: str
    webhook_url: str | None
    status: str | None
    create_status: str | None
    recipient_id: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Integration:
        """Build from one entity of the integrations listing."""
        recipient = data.get("recipient")
        return cls(
            id=_required(data, "id"),
            name=_required(data, "name"),
            webhook_url=_optional(data, "outboundNotificationWebhookUrl"),
            status=_optional(data, "status"),
            create_status=_optional(data, "createStatus"),
            recipient_id=_optional(recipient, "id") if isinstance(recipient, dict) else None,
            raw=data,
        )


@dataclass(frozen=True)
class Queue:
    """A routing queue."""

    id: str
    name: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Queue:
        """Build from one entity of the queues listing."""
        return cls(id=_required(data, "id"), name=_required(data, "name"), raw=data)


@dataclass(frozen=True)
class NotificationChannel:
    """A notifications channel: subscribe topics to `id`, read events from `connect_uri`."""

    id: str
    connect_uri: str
    expires: str | None

    @classmethod
    def from_api(cls, data: Any) -> NotificationChannel:
        """Build from the answer to `POST /api/v2/notifications/channels`."""
        if not isinstance(data, dict):
            raise GenesysBadResponse("notification channel answer is not an object")
        return cls(
            id=_required(data, "id"),
            connect_uri=_required(data, "connectUri"),
            expires=_optional(data, "expires"),
        )


@dataclass(frozen=True)
class TopicRejection:
    """A topic Genesys did not subscribe (`ChannelTopic` with `state: Rejected`)."""

    topic: str
    missing_permissions: tuple[str, ...]
    reason: str | None


def rejected_topics(listing: Any) -> list[TopicRejection]:
    """The `Rejected` topics of a `ChannelTopicEntityListing`; an unreadable answer rejects none."""
    items = listing.get("entities") if isinstance(listing, dict) else None
    rejected = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or item.get("state") != "Rejected" or not isinstance(item.get("id"), str):
            continue
        missing = item.get("missingPermissions")
        permissions = tuple(p for p in missing if isinstance(p, str)) if isinstance(missing, list) else ()
        rejected.append(TopicRejection(item["id"], permissions, _optional(item, "rejectionReason")))
    return rejected


def entities(page: Any, what: str) -> list[dict[str, Any]]:
    """The `entities` of a listing page, or GenesysBadResponse when the page has another shape."""
    items = page.get("entities") if isinstance(page, dict) else None
    if not isinstance(items, list):
        raise GenesysBadResponse(f"{what} listing has no entities list")
    return [item for item in items if isinstance(item, dict)]


def _required(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise GenesysBadResponse(f"answer has no {key!r}")
    return value


def _optional(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None
