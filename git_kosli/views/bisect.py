"""`git kosli bisect` as text for people and as JSON for scripts. Pure: returns strings and dicts."""

from __future__ import annotations

from typing import Any

from git_kosli.bisect.plan import BisectPlan, RepoChange
from git_kosli.bisect.session import Position, Span
from git_kosli.bisect.state import BuildRecord, Phase
from git_kosli.facts import CommitFacts
from git_kosli.model import Snapshot, short
from git_kosli.views.json import build_json, document, point_json, side_json, snapshot_json
from git_kosli.views.text import Style, clip, iso_utc, mark, table


def bisect_text(plan: BisectPlan) -> str:
    """What `git kosli bisect` prints before git's own lines."""
    target = plan.target
    lines = [
        f"old: {_snapshot_line(plan.old)}",
        f"new: {_snapshot_line(plan.new)}",
        f"artifact: {_change_label(target)}: {short(plan.old_commit)}..{short(plan.new_commit)}",
    ]
    lines += [f"also {_other_change(c)}" for c in plan.other_changes]
    count = len(plan.facts)
    lines.append(
        f"{count} candidate commit{'s' if count != 1 else ''}, "
        f"roughly {plan.steps} step{'s' if plan.steps != 1 else ''}"
    )
    subjects = plan.subjects()
    rows = [[f.commit[:7], clip(subjects.get(f.commit, "")), _deployments(f)] for f in plan.facts]
    return "\n".join(lines) + "\n\n" + table(rows, ["commit", "subject", "deployments"])


def _deployments(facts: CommitFacts) -> str:
    """The table's cell: the facts as tables say them (`CommitFacts.text`), each run's snapshots marked."""
    if not facts.episodes:
        return facts.text(full=False)
    return "\n".join(f"{mark(e.label, Style.SNAPSHOT)} {e.display}" for e in facts.episodes)


def _snapshot_line(snapshot: Snapshot) -> str:
    return f"{mark(str(snapshot.ref), Style.SNAPSHOT)} ({iso_utc(snapshot.timestamp)})"


def _change_label(change: RepoChange) -> str:
    artifact = change.change.new or change.change.old
    assert artifact is not None
    flow = change.change.flow
    return artifact.display_name if not flow else f"{artifact.display_name} (flow {flow})"


def _other_change(change: RepoChange) -> str:
    kind = change.change.change.value
    where = "this repository" if change.ours else "another repository"
    if change.change.new is not None and change.change.new.rogue:
        where = "no provenance"
    return f"{kind}: {_change_label(change)} ({where})"


def facts_json(facts: CommitFacts) -> dict[str, Any]:
    """One candidate commit's deployments: its runs of snapshots, or the first build containing it."""
    return {
        "environments": [
            {
                "environment": e.env,
                "first": point_json(e.env, e.first, e.first_at),
                "last": point_json(e.env, e.last, e.last_at),
                "name": e.artifact,
                "fingerprint": e.fingerprint,
                "flow": e.flow,
            }
            for e in facts.episodes
        ],
        "build": build_json(facts.build),
        "first_build": build_json(facts.first_build),
    }


def bisect_json(plan: BisectPlan) -> str:
    """The `git kosli bisect --json` document."""
    subjects = plan.subjects()
    return document(
        old=snapshot_json(plan.old),
        new=snapshot_json(plan.new),
        artifact=_change_json(plan.target),
        other_changes=[_change_json(c) for c in plan.other_changes],
        candidates=len(plan.facts),
        steps=plan.steps,
        commits=[{"git_commit": f.commit, "subject": subjects.get(f.commit, ""), **facts_json(f)} for f in plan.facts],
    )


def _change_json(change: RepoChange) -> dict[str, Any]:
    return {
        "change": change.change.change.value,
        "name": change.change.name,
        "flow": change.change.flow,
        "old": side_json(change.change.old, change.old_commit, change.change.flow),
        "new": side_json(change.change.new, change.new_commit, change.change.flow),
        "repository": "this" if change.ours else "other",
    }


def span_text(span: Span) -> str:
    """`last good build G, first bad build B, N unbuilt commits between`."""
    good = short(span.good_build) if span.good_build else "the old end"
    return (
        f"last good build {good}, first bad build {short(span.bad_build)}, "
        f"{span.unbuilt} unbuilt commit{'s' if span.unbuilt != 1 else ''} between"
    )


def position_text(position: Position, subject: str, *, build: BuildRecord | None) -> str:
    """What is under test now, and in which phase (`build`: the artifact of the commit under test, if any)."""
    lines = []
    if position.span is not None:
        lines.append(f"Narrowed to two consecutive builds: {span_text(position.span)}; bisecting them as git does.")
    if position.phase is Phase.DONE:
        lines.append(f"{position.commit} is the first bad commit")
    elif position.phase is Phase.BUILT and build is not None:
        lines.append(
            f"Testing build {short(position.commit)} ({build.label}): "
            f"{position.remaining} commits left; deploy this artifact, then mark it with "
            f"'git kosli bisect good|bad'."
        )
    else:
        lines.append(f"Testing {short(position.commit)}: {position.remaining} commits left.")
    if position.phase is not Phase.DONE:
        lines.append(f"[{position.commit}] {subject}")
    return "\n".join(lines)
