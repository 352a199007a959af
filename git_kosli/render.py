"""Results as text for people and as JSON-ready data for scripts. Pure: returns strings and dicts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from git_kosli.bisect.plan import BisectPlan, RepoChange
from git_kosli.facts import Build, CommitFacts
from git_kosli.model import Snapshot, short


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
    widths = [max(len(header) + 2, max(map(len, column), default=0))
              for header, column in zip(headers, columns, strict=True)]
    layout = "  ".join([*(f"{{:<{width}}}" for width in widths[:-1]), "{}"])
    return "\n".join([layout.format(*headers).rstrip(), *(layout.format(*line).rstrip() for line in lines)])


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
    lines.append(f"{count} candidate commit{'s' if count != 1 else ''}, "
                 f"roughly {plan.steps} step{'s' if plan.steps != 1 else ''}")
    subjects = plan.subjects()
    rows = [[f.commit[:7], _clip(subjects.get(f.commit, "")), f.text(full=False)] for f in plan.facts]
    return "\n".join(lines) + "\n\n" + table(rows, ["commit", "subject", "deployments"])


def _snapshot_line(snapshot: Snapshot) -> str:
    return f"{snapshot.ref} ({iso_utc(snapshot.timestamp)})"


def _change_label(change: RepoChange) -> str:
    artifact = change.change.new or change.change.old
    assert artifact is not None
    flow = artifact.flow
    return artifact.display_name if not flow else f"{artifact.display_name} (flow {flow})"


def _other_change(change: RepoChange) -> str:
    kind = change.change.change.value
    where = "this repository" if change.ours else "another repository"
    if change.change.new is not None and change.change.new.rogue:
        where = "no provenance"
    return f"{kind}: {_change_label(change)} ({where})"


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def build_json(build: Build | None) -> dict[str, Any] | None:
    """A build as the JSON documents show it."""
    if build is None:
        return None
    return {"git_commit": build.commit, "name": build.artifact, "fingerprint": build.fingerprint, "flow": build.flow}


def facts_json(facts: CommitFacts) -> dict[str, Any]:
    """One candidate commit's deployments."""
    return {
        "environments": [
            {"environment": e.env, "first": e.first, "last": e.last, "artifact": e.artifact} for e in facts.episodes
        ],
        "first_build": build_json(facts.first_build),
    }


def bisect_ends_json(plan: BisectPlan) -> dict[str, Any]:
    """The two snapshots and the artifact a bisect runs between."""
    return {
        "old": str(plan.old.ref),
        "new": str(plan.new.ref),
        "artifact": {
            "name": plan.target.change.name,
            "flow": plan.target.change.flow,
            "old_commit": plan.old_commit,
            "new_commit": plan.new_commit,
        },
    }


def bisect_json(plan: BisectPlan) -> dict[str, Any]:
    """The `git kosli bisect --json` document."""
    subjects = plan.subjects()
    return {
        **bisect_ends_json(plan),
        "other_changes": [_change_json(c) for c in plan.other_changes],
        "candidates": len(plan.facts),
        "steps": plan.steps,
        "commits": [
            {"commit": f.commit, "subject": subjects.get(f.commit, ""), **facts_json(f)} for f in plan.facts
        ],
    }


def _change_json(change: RepoChange) -> dict[str, Any]:
    return {
        "name": change.change.name,
        "flow": change.change.flow,
        "change": change.change.change.value,
        "old_commit": change.old_commit,
        "new_commit": change.new_commit,
        "repository": "this" if change.ours else "other",
    }
