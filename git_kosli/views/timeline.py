"""`git kosli timeline`: what ran where, when, as one self-contained HTML page (inline SVG and CSS). Pure.

A lane per environment over time; each run of this repository's artifact is a bar labelled with
its short commit; rollbacks and non-compliant builds in their colours; rogue and non-compliant
artifacts of any repository marked where they started, with a strip while they ran; an optional
incident line. Hovering a bar (an SVG `<title>`) tells the artifact, the snapshots, the commit's
subject and how many commits it brought. No script, no font or image from the network: it opens
offline. Labels that would not fit their bar are dropped, never drawn over each other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape

from git_kosli.model import CommitSha, Divergence, EnvName, clean_text, short
from git_kosli.runs import Flagged, Run
from git_kosli.views.text import iso_utc

WIDTH = 1200
LEFT = 120  # lane names
RIGHT = 24
TOP = 96  # title and legend
LANE = 48
GAP = 8
AXIS = 36
LABEL_CHAR = 7.0  # px per character of the 11px monospace label, generously
LABEL_PAD = 6

DEPLOY = ("#3b6ea8", "#6a9bd1")  # alternating, so neighbouring runs stay apart
COLOURS = {
    "rollback": "#e8590c",
    "non-compliant": "#8e44ad",
    "rogue": "#c2185b",
    "lane": "#e9eef5",
    "incident": "#111111",
}
_STEPS = [h * 3600 for h in (1, 2, 3, 6, 12, 24, 48, 96, 168, 336, 720, 2160, 4320, 8760)]


@dataclass(frozen=True)
class Mark:
    """A moment to mark on every lane (the incident)."""

    when: float
    label: str


@dataclass(frozen=True)
class Picture:
    """Everything the page shows; times are seconds since the epoch (UTC)."""

    title: str
    lanes: Mapping[EnvName, Sequence[Run]]
    flags: Mapping[EnvName, Sequence[Flagged]]
    subjects: Mapping[CommitSha, str]
    counts: Mapping[tuple[CommitSha, CommitSha], Divergence]  # (previous, commit) -> how they differ
    start: float
    end: float
    marks: Sequence[Mark] = field(default=())


def timeline_html(picture: Picture) -> str:
    """The whole page."""
    svg = _svg(picture)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_text(picture.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{svg}\n</body>\n</html>\n"
    )


_CSS = (
    "body{margin:16px;background:#fff;color:#222;font:13px system-ui,-apple-system,'Segoe UI',sans-serif}"
    "svg text{font:12px system-ui,-apple-system,'Segoe UI',sans-serif;fill:#222}"
    "svg text.sha{font:11px ui-monospace,Menlo,Consolas,monospace;fill:#fff}"
    "svg text.title{font-size:16px;font-weight:600}"
    "svg text.tick{fill:#555;font-size:11px}"
    "svg rect.bar:hover{stroke:#111;stroke-width:1.5}"
)


def _svg(picture: Picture) -> str:
    envs = list(picture.lanes)
    height = TOP + len(envs) * (LANE + GAP) + AXIS
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{_text(picture.title)}">',
        f'<text class="title" x="0" y="20">{_text(picture.title)}</text>',
        *_legend(),
    ]
    scale = _Scale(picture.start, picture.end)
    for lane, env in enumerate(envs):
        top = TOP + lane * (LANE + GAP)
        parts += _lane(env, top, picture.lanes[env], picture.flags.get(env, ()), picture, scale)
    bottom = TOP + len(envs) * (LANE + GAP)
    parts += _axis(scale, bottom)
    parts += _marks(picture.marks, scale, bottom)
    parts.append("</svg>")
    return "\n".join(parts)


class _Scale:
    """Seconds to x pixels over the plot's width."""

    def __init__(self, start: float, end: float) -> None:
        self.start = start
        self.span = max(end - start, 1.0)

    def x(self, when: float) -> float:
        return LEFT + (min(max(when, self.start), self.start + self.span) - self.start) / self.span * (
            WIDTH - LEFT - RIGHT
        )


def _legend() -> list[str]:
    entries = [
        ("rect", DEPLOY[0], "a run of this repository's artifact (label: its commit)"),
        ("rect", COLOURS["rollback"], "rollback"),
        ("rect", COLOURS["non-compliant"], "non-compliant build"),
        ("tri", COLOURS["rogue"], "rogue artifact (no provenance)"),
        ("tri", COLOURS["non-compliant"], "non-compliant artifact"),
        ("line", COLOURS["incident"], "incident"),
    ]
    parts = ['<g class="legend">']
    x, y = 0.0, 44
    for shape, colour, label in entries:
        width = 28 + len(label) * 6.2
        if x + width > WIDTH:
            x, y = 0.0, y + 22
        if shape == "rect":
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="18" height="12" fill="{colour}"/>')
        elif shape == "tri":
            parts.append(f'<path d="{_triangle(x + 9, y)}" fill="{colour}"/>')
        else:
            parts.append(
                f'<line x1="{x + 9:.1f}" y1="{y - 2}" x2="{x + 9:.1f}" y2="{y + 14}" '
                f'stroke="{colour}" stroke-width="2" stroke-dasharray="4 2"/>'
            )
        parts.append(f'<text x="{x + 24:.1f}" y="{y + 11}">{_text(label)}</text>')
        x += width + 16
    parts.append("</g>")
    return parts


def _triangle(x: float, y: float) -> str:
    """A 12-pixel triangle pointing down, its tip at (x, y + 12)."""
    return f"M{x - 7:.1f},{y:.1f} L{x + 7:.1f},{y:.1f} L{x:.1f},{y + 12:.1f} Z"


def _lane(
    env: EnvName, top: int, runs: Sequence[Run], flags: Sequence[Flagged], picture: Picture, scale: _Scale
) -> list[str]:
    parts = [
        f'<g class="lane" data-env="{_text(env)}">',
        f'<rect x="0" y="{top}" width="{WIDTH}" height="{LANE}" fill="{COLOURS["lane"]}"/>',
        f'<text x="8" y="{top + LANE / 2 + 4:.0f}" font-weight="600">{_text(_clip(env, 16))}</text>',
    ]
    keys = list(dict.fromkeys(run.key for run in runs))
    row_height = (LANE - 16) / max(len(keys), 1)
    labels_end: dict[str, float] = {}
    for number, run in enumerate(runs):
        row = keys.index(run.key)
        y = top + 12 + row * row_height
        x0, x1 = scale.x(run.first.timestamp), scale.x(run.end if run.end is not None else scale.start + scale.span)
        if x1 <= LEFT or x1 - x0 <= 0:
            continue
        colour = _colour(run, picture, number)
        parts.append(
            f'<rect class="bar" x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0, 1.0):.1f}" height="{row_height - 2:.1f}" '
            f'fill="{colour}" shape-rendering="crispEdges"><title>{_text(_tooltip(run, picture))}</title></rect>'
        )
        label = short(run.commit)
        needed = len(label) * LABEL_CHAR + LABEL_PAD
        centre = (x0 + x1) / 2
        if x1 - x0 >= needed and centre - needed / 2 >= labels_end.get(run.key, 0.0):
            labels_end[run.key] = centre + needed / 2
            parts.append(
                f'<text class="sha" x="{centre:.1f}" y="{y + row_height / 2 + 3:.1f}" text-anchor="middle" '
                f'pointer-events="none">{label}</text>'
            )
    for flag in flags:
        parts += _flag(flag, top, scale)
    parts.append("</g>")
    return parts


def _colour(run: Run, picture: Picture, number: int) -> str:
    if run.non_compliant:
        return COLOURS["non-compliant"]
    if _is_rollback(run, picture):
        return COLOURS["rollback"]
    return DEPLOY[number % 2]


def _is_rollback(run: Run, picture: Picture) -> bool:
    moved = picture.counts.get((run.previous, run.commit)) if run.previous else None
    return moved is not None and moved.new_only == 0 and moved.old_only > 0


def _tooltip(run: Run, picture: Picture) -> str:
    """What hovering a bar shows: artifact, snapshots and times, commit and subject, what it brought."""
    until = iso_utc(run.end) if run.end is not None else "still running"
    lines = [
        f"{run.artifact.display_name} ({run.artifact.name})",
        f"{run.snapshots}: {iso_utc(run.first.timestamp)} to {until}",
        f"{short(run.commit)} {picture.subjects.get(run.commit, '')}".rstrip(),
        _brought(run, picture),
    ]
    if run.non_compliant:
        lines.append("non-compliant")
    return "\n".join(lines)


def _brought(run: Run, picture: Picture) -> str:
    if run.previous is None:
        return "first run seen here"
    moved = picture.counts.get((run.previous, run.commit))
    if moved is None:
        return f"after {short(run.previous)} (commits not in this repository)"
    if _is_rollback(run, picture):
        return f"rollback: took out {_commits(moved.old_only)} of {short(run.previous)}"
    text = f"brought {_commits(moved.new_only)} after {short(run.previous)}"
    return text + (f", dropped {_commits(moved.old_only)}" if moved.old_only else "")


def _commits(count: int) -> str:
    return f"{count} commit{'s' if count != 1 else ''}"


def _flag(flag: Flagged, top: int, scale: _Scale) -> list[str]:
    colour = COLOURS["rogue"] if flag.kind == "rogue" else COLOURS["non-compliant"]
    x0 = scale.x(flag.first.timestamp)
    x1 = scale.x(flag.end if flag.end is not None else scale.start + scale.span)
    title = (
        f"{flag.kind}: {flag.artifact.display_name} ({flag.artifact.name})\n"
        f"from {flag.first.ref} ({iso_utc(flag.first.timestamp)})"
        + (f" to {iso_utc(flag.end)}" if flag.end is not None else ", still running")
    )
    return [
        f'<g class="{flag.kind}"><title>{_text(title)}</title>',
        f'<rect x="{x0:.1f}" y="{top + LANE - 4}" width="{max(x1 - x0, 2.0):.1f}" height="4" fill="{colour}" '
        f'shape-rendering="crispEdges"/>',
        f'<path d="{_triangle(x0, top)}" fill="{colour}"/>',
        "</g>",
    ]


def _axis(scale: _Scale, top: int) -> list[str]:
    step = next((s for s in _STEPS if scale.span / s <= 8), _STEPS[-1])
    first = (int(scale.start) // step + 1) * step
    daily = step >= 86400
    parts = [f'<line x1="{LEFT}" y1="{top}" x2="{WIDTH - RIGHT}" y2="{top}" stroke="#999"/>']
    for tick in range(first, int(scale.start + scale.span) + 1, step):
        x = scale.x(tick)
        when = datetime.fromtimestamp(tick, UTC).strftime("%Y-%m-%d" if daily else "%m-%d %H:%M")
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + 5}" stroke="#999"/>')
        parts.append(f'<text class="tick" x="{x:.1f}" y="{top + 18}" text-anchor="middle">{when}</text>')
    parts.append(f'<text class="tick" x="{WIDTH - RIGHT}" y="{top + 32}" text-anchor="end">UTC</text>')
    return parts


def _marks(marks: Sequence[Mark], scale: _Scale, bottom: int) -> list[str]:
    parts = []
    for mark in marks:
        x = scale.x(mark.when)
        parts.append(
            f'<g class="incident"><title>{_text(mark.label)}: {iso_utc(mark.when)}</title>'
            f'<line x1="{x:.1f}" y1="{TOP - 8}" x2="{x:.1f}" y2="{bottom}" stroke="{COLOURS["incident"]}" '
            f'stroke-width="2" stroke-dasharray="6 3"/>'
            f'<text x="{x + 4:.1f}" y="{TOP - 10}" font-weight="600">{_text(_clip(mark.label, 40))}</text></g>'
        )
    return parts


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _text(value: str) -> str:
    """A string from outside, safe inside HTML or SVG text and attributes: no control characters, escaped."""
    return escape("\n".join(clean_text(line) for line in value.split("\n")), quote=True)
