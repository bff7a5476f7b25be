"""One marshmallow schema per declared thing, generated from its declared fields."""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from .secrets import Secret

FIELD_TYPES = ("text", "secret", "toggle", "number", "select", "json", "textArray", "connection")


@dataclass(frozen=True)
class FieldSpec:
    """A field as a descriptor declares it."""

    key: str
    type: str
    label: str
    description: str = ""
    default: Any = None
    has_default: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)
    condition: Mapping[str, Any] | None = None

    @property
    def required(self) -> bool:
        return bool(self.params.get("required", False))


class SecretField(fields.Field[Secret]):
    """A string loaded as a `Secret`; its errors never repeat the value."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Secret:
        if isinstance(value, Secret):
            return value
        if not isinstance(value, str):
            raise ValidationError("Not a valid string.")
        return Secret(value)


class SecretLength(validate.Validator):
    """Length bounds for a secret, in an error that does not show it."""

    def __init__(self, min_length: int | None, max_length: int | None) -> None:
        self.min_length = min_length
        self.max_length = max_length

    def __call__(self, value: Secret) -> Secret:
        size = len(value)
        if self.min_length is not None and size < self.min_length:
            raise ValidationError(
                f"Too short: {size} characters, at least {self.min_length} are needed."
            )
        if self.max_length is not None and size > self.max_length:
            raise ValidationError(f"Too long: at most {self.max_length} characters.")
        return value


class StrictBoolean(fields.Field[bool]):
    """A TOML/JSON boolean only: no strings ("yes", "false") and no numbers (1, 0)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean: write true or false.")
        return value


class StrictNumber(fields.Field[float | int]):
    """An int or float from JSON/TOML; booleans, strings and NaN are refused."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float | int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError("Not a valid number.")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError("Not a finite number.")
        return value


class JsonValue(fields.Field[Any]):
    """Any JSON value, optionally constrained to an object or array and to value types."""

    def __init__(self, shape: str | None = None, values: str | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.shape = shape
        self.values = values

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if self.shape == "object" and not isinstance(value, dict):
            raise ValidationError("Must be a JSON object.")
        if self.shape == "array" and not isinstance(value, list):
            raise ValidationError("Must be a JSON array.")
        if self.values in ("string", "nodeRef"):
            items = value.items() if isinstance(value, dict) else enumerate(value or [])
            bad = [str(k) for k, v in items if not isinstance(v, str)]
            if bad:
                raise ValidationError(f"Values must be strings (not: {', '.join(bad)}).")
        return copy.deepcopy(value)


def _validators(spec: FieldSpec) -> list[validate.Validator]:
    p = spec.params
    out: list[validate.Validator] = []
    min_len, max_len = p.get("minLength"), p.get("maxLength")
    if spec.type == "secret":
        if min_len is not None or max_len is not None:
            out.append(SecretLength(min_len, max_len))
        return out
    if min_len is not None or max_len is not None:
        out.append(validate.Length(min=min_len, max=max_len))
    if p.get("pattern"):
        out.append(validate.Regexp(re.compile(p["pattern"]), error="Does not match {regex}."))
    if p.get("min") is not None or p.get("max") is not None:
        out.append(validate.Range(min=p.get("min"), max=p.get("max")))
    if spec.type == "select":
        out.append(validate.OneOf(list(p.get("options", []))))
    return out


def build_field(spec: FieldSpec) -> fields.Field[Any]:
    """The marshmallow field for one declared field."""
    kw: dict[str, Any] = {"validate": _validators(spec)}
    if spec.required and spec.condition is None:
        kw["required"] = True
    elif spec.has_default:
        default = spec.default
        kw["load_default"] = (lambda: copy.deepcopy(default)) if isinstance(
            default, dict | list
        ) else default
    t = spec.type
    if t in ("text", "select", "connection"):
        return fields.String(**kw)
    if t == "secret":
        return SecretField(**kw)
    if t == "toggle":
        return fields.Boolean(truthy={True}, falsy={False}, **kw)
    if t == "number":
        return StrictNumber(**kw)
    if t == "textArray":
        return fields.List(fields.String(), **kw)
    if t == "json":
        return JsonValue(shape=spec.params.get("shape"), values=spec.params.get("values"), **kw)
    raise ValueError(f"unknown field type {t!r}")


class DeclaredSchema(Schema):
    """Base of generated schemas: unknown keys refused, conditional requirements checked."""

    conditions: tuple[FieldSpec, ...] = ()

    class Meta:
        unknown = RAISE

    @validates_schema
    def _check_conditions(self, data: dict[str, Any], **kwargs: Any) -> None:
        missing: dict[str, list[str]] = {}
        for spec in self.conditions:
            cond = spec.condition or {}
            if data.get(str(cond.get("key"))) == cond.get("value") and spec.key not in data:
                missing[spec.key] = [
                    f"Missing data for required field (when {cond.get('key')} is "
                    f"{cond.get('value')!r})."
                ]
        if missing:
            raise ValidationError(missing)


def build_schema(name: str, specs: list[FieldSpec]) -> type[Schema]:
    """Generate the schema class of a descriptor from its declared fields."""
    built = {spec.key: build_field(spec) for spec in specs}
    conditions = tuple(s for s in specs if s.condition is not None and s.required)
    schema: type[DeclaredSchema] = type(name, (DeclaredSchema,), {**built, "conditions": conditions})
    return schema
