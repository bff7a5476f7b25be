"""Genesys Cloud Open Messaging client library: no imports from the rest of `extension`."""

from .client import GenesysClient
from .errors import (
    CallAbandoned,
    GenesysAuthError,
    GenesysBadResponse,
    GenesysClientError,
    GenesysError,
    GenesysForbidden,
    GenesysLookupError,
    GenesysNotFound,
    GenesysRateLimited,
    GenesysServerError,
    GenesysUnavailable,
    MalformedMessage,
)
from .regions import Region, resolve_region
from .resources import Integration, NotificationChannel, Queue, TopicRejection
from .retry import RetryPolicy
from .tokens import TokenProvider

__all__ = [
    "CallAbandoned",
    "GenesysAuthError",
    "GenesysBadResponse",
    "GenesysClient",
    "GenesysClientError",
    "GenesysError",
    "GenesysForbidden",
    "GenesysLookupError",
    "GenesysNotFound",
    "GenesysRateLimited",
    "GenesysServerError",
    "GenesysUnavailable",
    "Integration",
    "MalformedMessage",
    "NotificationChannel",
    "Queue",
    "Region",
    "RetryPolicy",
    "TokenProvider",
    "TopicRejection",
    "resolve_region",
]
