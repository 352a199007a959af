"""`git kosli log ENV`: an environment's timeline, newest first, with this repository's changes as commit ranges."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import click

from git_kosli.context import AppContext, pass_app
from git_kosli.errors import SnapshotNotFoundError, UsageError
from git_kosli.model import EnvName
from git_kosli.params import json_option

if TYPE_CHECKING:
    from git_kosli.model import Snapshot
    from git_kosli.pairing import ArtifactChange

_INTERVAL_END = re.compile(r"^(?:\d{1,18}|~\d{1,18}|NOW|now)?$")


@click.command()
@click.argument("env")
@click.option("--interval", metavar="A..B", help="Snapshots A to B: numbers, ~N (N behind the latest) or NOW.")
@json_option
@pass_app
def log(app: AppContext, env: str, interval: str | None, as_json: bool) -> None:
    """Show what started, exited and changed in each snapshot of ENV, newest first.

    Changes of this repository's artifacts are commit ranges (`+12 commits`, `rollback -3 commits`);
    artifacts without provenance are named rogue.
    """
    from git_kosli.pairing import Change, diff_snapshots
    from git_kosli.ranges import relate_all
    from git_kosli.views.diff import missing_commits
    from git_kosli.views.log import entry_text, log_json
    from git_kosli.views.text import fetch_hint

    history = app.source.history(EnvName(env))
    matcher = app.matcher_for({EnvName(env): history})
    first, last = _interval(interval, env=env, latest=history[-1].index if history else 0)
    shown: list[tuple[Snapshot, int]] = []  # each snapshot shown, and where its changes start in `changes`
    changes: list[ArtifactChange] = []
    for position, snapshot in enumerate(history):
        if not first <= snapshot.index <= last:
            continue
        before = history[position - 1] if position else None
        changed = diff_snapshots(old=before or _nothing(snapshot), new=snapshot, ours=matcher.flow_of)
        shown.append((snapshot, len(changes)))
        changes += [c for c in changed if c.change is not Change.UNCHANGED]
    related = relate_all(changes, matcher, app.history.divergences)  # every snapshot's counts at once
    ends = [start for _, start in shown[1:]] + [len(changes)] * bool(shown)
    entries = [(snapshot, related[start:end]) for (snapshot, start), end in zip(shown, ends, strict=True)]
    entries.reverse()
    if as_json:
        click.echo(log_json(env, entries))
    else:
        hint = fetch_hint(missing_commits(related), shallow=app.paths.shallow)
        app.show("\n".join([*(entry_text(s, r) for s, r in entries), *(["", hint] if hint else [])]), long=True)


def _nothing(snapshot: Snapshot) -> Snapshot:
    """What ran before an environment's first snapshot: nothing, so everything in it started."""
    from git_kosli.model import Snapshot, SnapshotRef

    return Snapshot(SnapshotRef(snapshot.env, 0), snapshot.timestamp)


def _interval(text: str | None, *, env: str, latest: int) -> tuple[int, int]:
    """Kosli's `[expr]..[expr]` (either side defaults to NOW); a single expression is one snapshot.

    Raises:
        UsageError: it does not parse, or it starts after it ends.
        SnapshotNotFoundError: it reaches past the environment's snapshots.
    """
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

    first, last = point(start), point(end)
    if first > last:
        raise UsageError(f"invalid --interval '{text}': it starts at #{first}, after its end #{last}")
    if first < 1 or last > latest:
        has = f"has snapshots #1..#{latest}" if latest else "has no snapshots yet"
        raise SnapshotNotFoundError(f"--interval '{text}' is #{first}..#{last}, but '{env}' {has}")
    return first, last
