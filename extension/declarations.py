"""Where the declarations (manifest.json, nodes/, connections/) and the examples live at run time."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def declarations_root() -> Path:
    """The folder holding manifest.json: inside the wheel, or the source checkout."""
    shipped = _PACKAGE / "_declarations"
    if (shipped / "manifest.json").is_file():
        return shipped
    # Editable installs and source checkouts read the files at the top of the repository.
    return _PACKAGE.parent


def example_config() -> Path:
    """The example config of `genesys-om demo`: shipped inside the wheel, or in the source checkout."""
    shipped = _PACKAGE / "_examples" / "demo.toml"
    return shipped if shipped.is_file() else _PACKAGE.parent / "examples" / "demo.toml"
