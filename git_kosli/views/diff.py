"""`git kosli diff` as text and JSON, and the relation words `log` shares with it. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from git_kosli.model import Artifact, CommitSha, Snapshot, short
from git_kosli.ranges import Related, Relation
from git_kosli.views.text import table

CommitLines = Sequence[tuple[CommitSha, str]]
"""Commits of one side of a pair, with their subjects."""


def describe(related: Related, *, same_env: bool) -> str:
    """`ahead +3`, `behind -2 (rollback)`, `diverged +1 -2`, or the bare relation."""
    parts = [related.relation.value]
    if related.ahead:
        parts.append(f"+{related.ahead}")
    if related.behind:
        parts.append(f"-{related.behind}")
    if related.relation is Relation.BEHIND and same_env:
        parts.append("(rollback)")
    return " ".join(parts)


def flags(related: Related) -> str:
    """The warnings an artifact carries: `rogue`, `non-compliant`."""
    return " ".join(name for name, on in (("rogue", related.rogue), ("non-compliant", related.non_compliant)) if on)


def diff_text(
    old: Snapshot,
    new: Snapshot,
    related: Sequence[Related],
    *,
    same_env: bool,
    logs: Mapping[int, tuple[CommitLines, CommitLines]] | None = None,
) -> str:
    """The table of pairs; with `logs` (position in `related` -> commits ahead, commits behind) the commits too."""

    def commit(sha: str | None, artifact: Artifact | None) -> str:
        if artifact is None:
            return "-"
        return short(sha) if sha else ("no provenance" if artifact.rogue else "other repo")

    rows = [
        [
            r.artifact.display_name,
            r.artifact.flow or "-",
            commit(r.left_commit, r.change.old),
            commit(r.right_commit, r.change.new),
            describe(r, same_env=same_env),
            flags(r),
        ]
        for r in related
    ]
    lines = [
        f"{old.ref} -> {new.ref}",
        "",
        table(rows, ["artifact", "flow", str(old.ref), str(new.ref), "relation", "flags"]),
    ]
    for position, (ahead, behind) in sorted((logs or {}).items()):
        lines += ["", f"{related[position].artifact.display_name}:"]
        lines += [f"  + {short(sha)} {subject}" for sha, subject in ahead]
        lines += [f"  - {short(sha)} {subject}" for sha, subject in behind]
    return "\n".join(lines)


def _side(artifact: Artifact | None, commit: str | None) -> dict[str, Any] | None:
    return None if artifact is None else {"fingerprint": artifact.fingerprint, "git_commit": commit}


def diff_json(old: Snapshot, new: Snapshot, related: Sequence[Related]) -> dict[str, Any]:
    """The `git kosli diff --json` document."""
    return {
        "left": str(old.ref),
        "right": str(new.ref),
        "artifacts": [
            {
                "name": r.artifact.name,
                "flow": r.artifact.flow,
                "left": _side(r.change.old, r.left_commit),
                "right": _side(r.change.new, r.right_commit),
                "relation": r.relation.value,
                "ahead": r.ahead,
                "behind": r.behind,
                "rogue": r.rogue,
                "compliant": not r.non_compliant,
            }
            for r in related
        ],
    }
