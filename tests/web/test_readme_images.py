"""The README shows the two pages: its images are in the repository and are real PNG files."""

from __future__ import annotations

import re
import struct
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_the_readme_images_exist_and_are_pngs() -> None:
    images = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", (REPO / "README.md").read_text())
    assert {"docs/webchat.png", "docs/console.png"} <= set(images)
    for name in images:
        path = REPO / name
        assert path.is_file(), f"{name} is missing"
        head = path.read_bytes()[:24]
        assert head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR", f"{name} is not a PNG"
        width, height = struct.unpack(">II", head[16:24])
        assert width >= 400 and height >= 300, f"{name} is only {width}x{height}"
