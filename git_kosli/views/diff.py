"""`git kosli diff` as text and JSON, and the relation words `log` shares with it. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from git_kosli.model import Artifact, CommitSha, Snapshot, short
from git_kosli.ranges import Related, Relation
from git_kosli.views.json import document, pair_json, snapshot_json
from git_kosli.views.text import Style, mark, plain, table

CommitLines = Sequence[tuple[CommitSha, str]]
"""Commits of one side of a pair, with their subjects."""


def describe(related: Related, *, same_env: bool) -> str:
    """`ahead +3`, `behind -2 (rollback)`, `diverged +1 -2`, or the bare relation; counts marked."""
    relation = related.relation
    ahead = f"+{related.ahead}" if related.ahead else ""
    behind = f"-{related.behind}" if related.behind else ""
    if relation is Relation.AHEAD:
        parts = [mark(f"ahead {ahead}".strip(), Style.AHEAD)]
    elif relation is Relation.BEHIND:
        parts = [mark(f"behind {behind}".strip(), Style.BEHIND), "(rollback)" if same_env else ""]
    else:
        parts = [relation.value, mark(ahead, Style.AHEAD), mark(behind, Style.BEHIND)]
    return " ".join(p for p in parts if p)


def flags(related: Related) -> str:
    """The warnings an artifact carries, marked: `rogue`, `non-compliant`."""
    return flag_words(["rogue"] * related.rogue + ["non-compliant"] * related.non_compliant)


def flag_words(names: list[str]) -> str:
    """Flags, each marked, a space apart."""
    return " ".join(mark(name, Style.FLAG) for name in names)


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
    old_ref, new_ref = mark(str(old.ref), Style.SNAPSHOT), mark(str(new.ref), Style.SNAPSHOT)
    lines = [
        f"{old_ref} -> {new_ref}",
        "",
        table(rows, ["artifact", "flow", old_ref, new_ref, "relation", "flags"]),
    ]
    for position, (ahead, behind) in sorted((logs or {}).items()):
        lines += ["", f"{related[position].artifact.display_name}:"]
        lines += [f"  + {short(sha)} {plain(subject)}" for sha, subject in ahead]
        lines += [f"  - {short(sha)} {plain(subject)}" for sha, subject in behind]
    return "\n".join(lines)


def diff_json(old: Snapshot, new: Snapshot, related: Sequence[Related]) -> str:
    """The `git kosli diff --json` document."""
    same_env = old.env == new.env
    return document(
        old=snapshot_json(old),
        new=snapshot_json(new),
        artifacts=[pair_json(r, same_env=same_env) for r in related],
    )
