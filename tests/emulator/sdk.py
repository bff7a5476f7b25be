"""The official Genesys SDK as a checker: deserialise JSON into its models, read its enums."""

from __future__ import annotations

import ast
import functools
import inspect
import re
from typing import Any

from PureCloudPlatformClientV2 import ApiClient

OUTDATED = "outdated_sdk_version"  # what the SDK stores for a value outside its enum


@functools.cache
def _client() -> Any:
    return ApiClient()


def deserialize(data: Any, model: str) -> dict[str, Any]:
    """The SDK model's to_dict() of this JSON value, checked for out-of-enum values."""
    instance = _client()._ApiClient__deserialize(data, model)
    result: dict[str, Any] = instance.to_dict()
    assert OUTDATED not in repr(result), result
    return result


def sdk_enum(model: type, field: str) -> list[str]:
    """The values the SDK model's setter allows for `field`, exactly as the SDK spells them."""
    source = inspect.getsource(getattr(model, field).fset)
    match = re.search(r"allowed_values = (\[.*?\])", source)
    assert match, f"{model.__name__}.{field} has no enum in this SDK"
    values: list[str] = ast.literal_eval(match.group(1))
    return values
