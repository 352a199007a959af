"""A real browser for tests: headless Chromium renders a page to PNG, and the PNG is read back as pixels.

PNG decoding needs only zlib (the standard library): Chromium writes 8-bit RGB or RGBA, not
interlaced. `python -m tests.browser` renders the demo's timeline to docs/timeline.png for the README.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path
from typing import NamedTuple

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
]


def chromium_or_none() -> str | None:
    """The Chromium binary on PATH (Debian's package installs `chromium`), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(page: Path, png: Path, *, width: int, height: int) -> None:
    """Render a local page to a PNG of `width` x `height` pixels, in a fresh profile, offline."""
    browser = chromium_or_none()
    assert browser is not None, "no chromium on PATH"
    with tempfile.TemporaryDirectory(prefix="visible-chromium-") as profile:
        subprocess.run(
            [
                browser,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                f"--window-size={width},{height}",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            check=True,
            timeout=120,
        )


class Image(NamedTuple):
    """Decoded pixels: `pixel(x, y)` is (red, green, blue)."""

    width: int
    height: int
    rows: list[bytes]
    channels: int

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        start = x * self.channels
        red, green, blue = self.rows[y][start : start + 3]
        return red, green, blue


def read_png(path: Path) -> Image:
    """Decode an 8-bit RGB or RGBA PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    position, compressed, header = 8, b"", b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            compressed += body
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, "only 8-bit RGB(A), not interlaced"
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(compressed)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(kind, line, previous, channels)
        rows.append(bytes(line))
        previous = line
    return Image(width, height, rows, channels)


def _unfilter(kind: int, line: bytearray, previous: bytearray, bpp: int) -> None:
    """Undo one PNG row filter in place (None, Sub, Up, Average, Paeth)."""
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = previous[i]
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            corner = previous[i - bpp] if i >= bpp else 0
            guess = left + up - corner
            near = min((abs(guess - left), 0, left), (abs(guess - up), 1, up), (abs(guess - corner), 2, corner))
            line[i] = (line[i] + near[2]) & 0xFF


def hex_colour(text: str) -> tuple[int, int, int]:
    """`#e8590c` as (232, 89, 12)."""
    return int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16)


def _render_readme_picture(target: Path) -> None:
    """Build the demo, draw its timeline and render it to `target` (docs/timeline.png)."""
    from git_kosli.cli import main

    with tempfile.TemporaryDirectory(prefix="visible-demo-") as folder:
        demo = Path(folder) / "kosli-demo"
        if main(["demo", str(demo), "--no-run"]) != 0:
            raise SystemExit("could not build the demo")
        page = demo / "timeline.html"
        os.chdir(demo)
        if main(["timeline", "-o", str(page), "--mark", "2026-10-02T05:00:00=aws-beta broke"]) != 0:
            raise SystemExit("could not draw the timeline")
        screenshot(page, target, width=1232, height=290)


if __name__ == "__main__":
    _render_readme_picture(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/timeline.png").resolve())
