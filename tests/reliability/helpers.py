"""Small helpers shared by the reliability scenarios."""

from __future__ import annotations

from stack import HANDOVER_SETTINGS


def changed_setting(old: str, new: str) -> str:
    """The shared test settings with one line changed (refusing a line that is not there)."""
    assert old in HANDOVER_SETTINGS, old
    return HANDOVER_SETTINGS.replace(old, new)
