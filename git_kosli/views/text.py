"""The shapes every view shares: aligned tables, UTC times, ages, clipped text. Pure."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime


def iso_utc(timestamp: float | None) -> str | None:
    """ISO 8601 in UTC, seconds precision: `2026-11-25T03:30:00Z`."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def table(rows: list[list[str]], headers: list[str]) -> str:
    """A plain aligned table, as git prints its lists: columns two spaces apart, cells of several lines.

    Headers get two spaces of room; no trailing blanks. One format string for every line keeps
    the 10,000-row table of a large bisect at a few milliseconds.
    """
    lines: list[list[str]] = []
    for row in rows:
        cells = [str(cell).strip() for cell in row]
        if "\n" not in "".join(cells):
            lines.append(cells)
            continue
        split = [cell.split("\n") for cell in cells]
        for n in range(max(len(parts) for parts in split)):
            lines.append([parts[n] if n < len(parts) else "" for parts in split])
    columns = list(zip(*lines, strict=True)) if lines else [()] * len(headers)
    widths = [
        max(len(header) + 2, max(map(len, column), default=0)) for header, column in zip(headers, columns, strict=True)
    ]
    layout = "  ".join([*(f"{{:<{width}}}" for width in widths[:-1]), "{}"])
    return "\n".join([layout.format(*headers).rstrip(), *(layout.format(*line).rstrip() for line in lines)])


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """A string from outside without control characters: it cannot move the cursor or forge a line."""
    return _CONTROL.sub("", text)


def clip(text: str, width: int = 60) -> str:
    """The text, cut to `width` characters with an ellipsis when longer."""
    return text if len(text) <= width else text[: width - 1] + "…"


def age(timestamp: float, now: float | None = None) -> str:
    """`3 days ago`, `2 hours ago`, `5 minutes ago`."""
    seconds = max(0, int((now or time.time()) - timestamp))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            amount = seconds // size
            return f"{amount} {unit}{'s' if amount != 1 else ''} ago"
    return "just now"
