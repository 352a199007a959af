"""The shapes every view shares: aligned tables, UTC times, ages, clipped text, and which parts are coloured. Pure.

A view marks the parts to colour as it builds them (`mark(text, Style.SNAPSHOT)`), cell by cell,
with characters Unicode reserves for a program's internal use; the terminal turns the marks into
colours or removes them. A commit subject is never marked, so `jira#123`, `+5` or `not-contained`
in one is never coloured, and widths are computed on the visible text.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum

from git_kosli.model import short


class Style(StrEnum):
    """What a marked part is; the terminal decides its colour."""

    SNAPSHOT = "\ufdd0"  # aws-beta#41
    FLAG = "\ufdd1"  # rogue, non-compliant, not-contained
    AHEAD = "\ufdd2"  # ahead +3, +7 commits
    BEHIND = "\ufdd3"  # behind -2, rollback -4 commits


END = "\ufdef"
_MARKS = re.compile("[\ufdd0-\ufdef]")


def mark(text: str, style: Style) -> str:
    """The text, marked to be shown in the style's colour."""
    return f"{style}{text}{END}" if text else text


def plain(text: str) -> str:
    """The text without its marks (and without any such character an outside string brought)."""
    return _MARKS.sub("", text) if END in text or _MARKS.search(text) else text


def width(text: str) -> int:
    """How many characters of the text show: marks take no room."""
    return len(text) - 2 * text.count(END) if END in text else len(text)


def iso_utc(timestamp: float | None) -> str | None:
    """ISO 8601 in UTC, seconds precision: `2026-11-25T03:30:00Z`."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def table(rows: list[list[str]], headers: list[str]) -> str:
    """A plain aligned table, as git prints its lists: columns two spaces apart, cells of several lines.

    Headers get two spaces of room; no trailing blanks. Widths count only what shows (`width`):
    a marked cell is padded by hand, the rest by one format string for every line, which keeps
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
        max(width(header) + 2, max(map(width, column), default=0))
        for header, column in zip(headers, columns, strict=True)
    ]
    layout = "  ".join([*(f"{{:<{w}}}" for w in widths[:-1]), "{}"])

    def line_of(cells: list[str]) -> str:
        if not any(END in cell for cell in cells):
            return layout.format(*cells).rstrip()
        padded = [cell + " " * (w - width(cell)) for cell, w in zip(cells[:-1], widths, strict=False)]
        return "  ".join([*padded, cells[-1]]).rstrip()

    return "\n".join([line_of(headers), *(line_of(line) for line in lines)])


def clip(text: str, most: int = 60) -> str:
    """Outside text (a subject), cut to `most` characters with an ellipsis when longer."""
    text = plain(text)  # an outside string never brings marks of its own
    return text if len(text) <= most else text[: most - 1] + "…"


def age(timestamp: float, now: float | None = None) -> str:
    """`3 days ago`, `2 hours ago`, `5 minutes ago`."""
    seconds = max(0, int((now or time.time()) - timestamp))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            amount = seconds // size
            return f"{amount} {unit}{'s' if amount != 1 else ''} ago"
    return "just now"


def fetch_hint(missing: Sequence[str], *, shallow: bool) -> str | None:
    """The closing line when an answer needs commits this clone lacks, or None when it lacks none."""
    if not missing:
        return None
    shown = ", ".join(short(sha) for sha in missing[:5]) + (", ..." if len(missing) > 5 else "")
    fetch = "git fetch --unshallow" if shallow else "git fetch"
    noun = "commit" if len(missing) == 1 else "commits"
    return f"hint: {noun} {shown} of this repository {'is' if len(missing) == 1 else 'are'} not here; run '{fetch}'"
