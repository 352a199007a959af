"""`git kosli log` as text and JSON: each snapshot's changes, this repository's as commit ranges. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from git_kosli.model import Snapshot, short
from git_kosli.pairing import Change
from git_kosli.ranges import Related, Relation
from git_kosli.views.diff import flags
from git_kosli.views.json import document, pair_json, snapshot_json
from git_kosli.views.text import Style, iso_utc, mark


def range_text(related: Related) -> str:
    """`+7 commits (a..b)`, `rollback -4 commits (a..b)`, `diverged +1 -2 (a..b)` or why there is no range."""
    if related.relation is Relation.OTHER_REPO:
        return "another repository"
    if related.relation is Relation.UNKNOWN:
        return f"not fetched ({short(related.left_commit or '')}..{short(related.right_commit or '')})"
    span = f"{short(related.left_commit or '')}..{short(related.right_commit or '')}"
    if related.relation is Relation.AHEAD:
        return mark(f"+{related.ahead} commit{'s' if related.ahead != 1 else ''}", Style.AHEAD) + f" ({span})"
    if related.relation is Relation.BEHIND:
        count = f"rollback -{related.behind} commit{'s' if related.behind != 1 else ''}"
        return mark(count, Style.BEHIND) + f" ({span})"
    if related.relation is Relation.DIVERGED:
        ahead, behind = mark(f"+{related.ahead}", Style.AHEAD), mark(f"-{related.behind}", Style.BEHIND)
        return f"diverged {ahead} {behind} ({span})"
    return "rebuilt from the same commit"


def entry_text(snapshot: Snapshot, related: Sequence[Related]) -> str:
    """One snapshot and its changes, a line each."""
    lines = [f"{mark(str(snapshot.ref), Style.SNAPSHOT)}  {iso_utc(snapshot.timestamp)}"]
    for r in related:
        what = r.change.change.value
        detail = range_text(r) if r.change.change is Change.CHANGED else ("no provenance" if r.rogue else "")
        lines.append("    " + "  ".join(p for p in (f"{what:<8}", r.artifact.display_name, detail, flags(r)) if p))
    if len(lines) == 1:
        lines.append("    (no change)")
    return "\n".join(lines)


def log_json(env: str, entries: Sequence[tuple[Snapshot, Sequence[Related]]]) -> str:
    """The `git kosli log --json` document: each snapshot (newest first) and its changes."""
    return document(
        environment=env,
        snapshots=[
            {"snapshot": snapshot_json(snapshot), "changes": [pair_json(r, same_env=True) for r in related]}
            for snapshot, related in entries
        ],
    )
