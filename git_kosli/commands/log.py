"""`git kosli log ENV`: an environment's timeline, newest first, with this repository's changes as commit ranges."""

from __future__ import annotations

import json
import re
from typing import Any

import click

from git_kosli.context import AppContext, pass_app
from git_kosli.errors import UsageError
from git_kosli.model import EnvName

_INTERVAL_END = re.compile(r"^(?:\d+|~\d+|NOW|now)?$")


@click.command()
@click.argument("env")
@click.option("--interval", metavar="A..B", help="Snapshots A to B: numbers, ~N (N behind the latest) or NOW.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@pass_app
def log(app: AppContext, env: str, interval: str | None, as_json: bool) -> None:
    """Show what started, exited and changed in each snapshot of ENV, newest first.

    Changes of this repository's artifacts are commit ranges (`+12 commits`, `rollback -3 commits`);
    artifacts without provenance are named rogue.
    """
    from git_kosli.pairing import diff_snapshots
    from git_kosli.ranges import relate_all

    history = app.source.history(EnvName(env))
    first, last = _interval(interval, latest=history[-1].index if history else 0)
    shown: list[tuple[Any, int]] = []  # each snapshot shown, and where its changes start in `changes`
    changes: list[Any] = []
    for position, snapshot in enumerate(history):
        if not first <= snapshot.index <= last:
            continue
        before = history[position - 1] if position else None
        changed = diff_snapshots(old=before, new=snapshot) if before else _all_started(snapshot)
        shown.append((snapshot, len(changes)))
        changes += [c for c in changed if c.change.value != "unchanged"]
    related = relate_all(changes, app.matcher, app.history.divergences)  # every snapshot's counts at once
    ends = [start for _, start in shown[1:]] + [len(changes)]
    entries = [(snapshot, related[start:end]) for (snapshot, start), end in zip(shown, ends, strict=True)]
    entries.reverse()
    if as_json:
        click.echo(json.dumps([_entry_json(s, r) for s, r in entries], indent=2))
    else:
        app.show("\n".join(_entry_text(s, r) for s, r in entries), long=True)


def _all_started(snapshot: Any) -> list[Any]:
    from git_kosli.pairing import ArtifactChange, Change

    return [ArtifactChange(Change.STARTED, None, a) for a in snapshot.artifacts]


def _interval(text: str | None, *, latest: int) -> tuple[int, int]:
    """Kosli's `[expr]..[expr]` (either side defaults to NOW); a single expression is one snapshot."""
    if text is None:
        return 1, latest
    start, sep, end = text.partition("..")
    if not sep:
        end = start
    if not (_INTERVAL_END.match(start) and _INTERVAL_END.match(end)):
        raise UsageError(f"invalid --interval '{text}': expected A..B with numbers, ~N or NOW")

    def point(expr: str) -> int:
        if expr in ("", "NOW", "now"):
            return latest
        return latest - int(expr[1:]) if expr.startswith("~") else int(expr)

    return point(start), point(end)


def _range_text(related: Any) -> str:
    from git_kosli.model import short
    from git_kosli.ranges import Relation

    if related.relation is Relation.OTHER_REPO:
        return "another repository"
    span = f"{short(related.left_commit)}..{short(related.right_commit)}"
    if related.relation is Relation.AHEAD:
        return f"+{related.ahead} commit{'s' if related.ahead != 1 else ''} ({span})"
    if related.relation is Relation.BEHIND:
        return f"rollback -{related.behind} commit{'s' if related.behind != 1 else ''} ({span})"
    if related.relation is Relation.DIVERGED:
        return f"diverged +{related.ahead} -{related.behind} ({span})"
    return "rebuilt from the same commit"


def _entry_text(snapshot: Any, related: list[Any]) -> str:
    from git_kosli.commands.diff import flags
    from git_kosli.render import iso_utc

    lines = [f"{snapshot.ref}  {iso_utc(snapshot.timestamp)}"]
    for r in related:
        what = r.change.change.value
        detail = _range_text(r) if what == "changed" else ("no provenance" if r.rogue else "")
        lines.append("    " + "  ".join(p for p in (f"{what:<8}", r.artifact.display_name, detail, flags(r)) if p))
    if len(lines) == 1:
        lines.append("    (no change)")
    return "\n".join(lines)


def _entry_json(snapshot: Any, related: list[Any]) -> dict[str, Any]:
    from git_kosli.render import iso_utc

    return {
        "snapshot": str(snapshot.ref),
        "index": snapshot.index,
        "timestamp": iso_utc(snapshot.timestamp),
        "changes": [
            {
                "change": r.change.change.value,
                "name": r.artifact.name,
                "flow": r.artifact.flow,
                "fingerprint": r.artifact.fingerprint,
                "old_commit": r.left_commit,
                "new_commit": r.right_commit,
                "relation": r.relation.value,
                "ahead": r.ahead,
                "behind": r.behind,
                "rollback": r.relation.value == "behind",
                "rogue": r.rogue,
                "compliant": not r.non_compliant,
            }
            for r in related
        ],
    }
