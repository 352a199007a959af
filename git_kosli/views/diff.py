"""`git kosli diff` as text and JSON, and the relation words `log` shares with it. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from git_kosli.model import Artifact, CommitSha, Snapshot, short
from git_kosli.ranges import Related, Relation
from git_kosli.views.json import document, pair_json, snapshot_json
from git_kosli.views.text import Style, fetch_hint, mark, plain, table

CommitLines = Sequence[tuple[CommitSha, str]]
"""Commits of one side of a pair, with their subjects."""


def describe(related: Related, *, same_env: bool) -> str:
    """`ahead +3`, `behind -2 (rollback)`, `diverged +1 -2`, `not fetched`, or the bare relation; counts marked."""
    relation = related.relation
    if relation is Relation.UNKNOWN:
        return "not fetched"
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


def between(old: Snapshot, new: Snapshot) -> int | None:
    """How many snapshots lie between two moments of one environment; None for two environments."""
    return abs(new.index - old.index) - 1 if old.env == new.env else None


def header(old: Snapshot, new: Snapshot) -> str:
    """`aws-prod#4357 -> aws-prod#5253 (895 snapshots between)`: the count when they are not neighbours."""
    refs = f"{mark(str(old.ref), Style.SNAPSHOT)} -> {mark(str(new.ref), Style.SNAPSHOT)}"
    count = between(old, new)
    return refs if not count or count < 1 else f"{refs} ({count} snapshot{'s' if count != 1 else ''} between)"


def missing_commits(related: Sequence[Related]) -> list[str]:
    """This repository's commits the pairs need and this clone lacks, once each."""
    return list(dict.fromkeys(sha for r in related for sha in r.missing))


def diff_text(
    old: Snapshot,
    new: Snapshot,
    related: Sequence[Related],
    *,
    same_env: bool,
    logs: Mapping[int, tuple[CommitLines, CommitLines]] | None = None,
    shallow: bool = False,
) -> str:
    """The table of pairs; with `logs` (position in `related` -> commits ahead, commits behind) the commits too.

    A closing `hint:` line names the commits to fetch, when a pair needs some this clone lacks.
    """

    def commit(sha: str | None, artifact: Artifact | None) -> str:
        if artifact is None:
            return "-"
        return short(sha) if sha else ("no provenance" if artifact.rogue else "other repo")

    rows = [
        [
            r.artifact.display_name,
            r.change.flow or "-",
            commit(r.left_commit, r.change.old),
            commit(r.right_commit, r.change.new),
            describe(r, same_env=same_env),
            flags(r),
        ]
        for r in related
    ]
    old_ref, new_ref = mark(str(old.ref), Style.SNAPSHOT), mark(str(new.ref), Style.SNAPSHOT)
    lines = [
        header(old, new),
        "",
        table(rows, ["artifact", "flow", old_ref, new_ref, "relation", "flags"]),
    ]
    for position, (ahead, behind) in sorted((logs or {}).items()):
        lines += ["", f"{related[position].artifact.display_name}:"]
        lines += [f"  + {short(sha)} {plain(subject)}" for sha, subject in ahead]
        lines += [f"  - {short(sha)} {plain(subject)}" for sha, subject in behind]
    hint = fetch_hint(missing_commits(related), shallow=shallow)
    return "\n".join(lines if hint is None else [*lines, "", hint])


def diff_json(old: Snapshot, new: Snapshot, related: Sequence[Related]) -> str:
    """The `git kosli diff --json` document."""
    same_env = old.env == new.env
    return document(
        old=snapshot_json(old),
        new=snapshot_json(new),
        between=between(old, new),
        artifacts=[pair_json(r, same_env=same_env) for r in related],
        missing_commits=missing_commits(related),
    )
