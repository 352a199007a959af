"""`git kosli diff SNAP1 SNAP2`: two snapshots (two environments, or two moments of one) as commit ranges."""

from __future__ import annotations

import json
from typing import Any

import click

from git_kosli.context import AppContext, pass_app
from git_kosli.params import SNAPSHOT
from git_kosli.snapshot_expr import SnapshotExpr


@click.command()
@click.argument("left", metavar="SNAP1", type=SNAPSHOT)
@click.argument("right", metavar="SNAP2", type=SNAPSHOT)
@click.option("--log", "with_log", is_flag=True, help="List the commits each way (short sha, subject).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of a table.")
@pass_app
def diff(app: AppContext, left: SnapshotExpr, right: SnapshotExpr, with_log: bool, as_json: bool) -> int:
    """Pair the artifacts of two snapshots by flow and say how their commits relate.

    Relations: same, ahead (SNAP2 has commits SNAP1 lacks), behind (a rollback within one
    environment), diverged, added, removed, other-repo. Exits 1 when there is a difference,
    as `git diff --exit-code` does.
    """
    from git_kosli.pairing import diff_snapshots
    from git_kosli.ranges import Relation, relate_all

    old, new = app.source.resolve_all([left, right])
    related = relate_all(diff_snapshots(old=old, new=new), app.matcher, app.history.divergences)
    same_env = old.env == new.env
    if as_json:
        click.echo(json.dumps(_document(old, new, related), indent=2))
    else:
        app.show(_text(app, old, new, related, with_log=with_log, same_env=same_env), long=with_log)
    return 0 if all(r.relation is Relation.SAME for r in related) else 1


def _side(artifact: Any, commit: str | None) -> dict[str, Any] | None:
    return None if artifact is None else {"fingerprint": artifact.fingerprint, "git_commit": commit}


def _document(old: Any, new: Any, related: list[Any]) -> dict[str, Any]:
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


def describe(related: Any, *, same_env: bool) -> str:
    """`ahead +3`, `behind -2 (rollback)`, `diverged +1 -2`, or the bare relation."""
    from git_kosli.ranges import Relation

    parts = [related.relation.value]
    if related.ahead:
        parts.append(f"+{related.ahead}")
    if related.behind:
        parts.append(f"-{related.behind}")
    if related.relation is Relation.BEHIND and same_env:
        parts.append("(rollback)")
    return " ".join(parts)


def flags(related: Any) -> str:
    """The warnings an artifact carries."""
    return " ".join(name for name, on in (("rogue", related.rogue), ("non-compliant", related.non_compliant)) if on)


def _text(app: AppContext, old: Any, new: Any, related: list[Any], *, with_log: bool, same_env: bool) -> str:
    from git_kosli.model import short
    from git_kosli.render import table

    def commit(sha: str | None, artifact: Any) -> str:
        if artifact is None:
            return "-"
        return short(sha) if sha else ("no provenance" if artifact.rogue else "other repo")

    rows = [
        [r.artifact.display_name, r.artifact.flow or "-", commit(r.left_commit, r.change.old),
         commit(r.right_commit, r.change.new), describe(r, same_env=same_env), flags(r)]
        for r in related
    ]
    lines = [f"{old.ref} -> {new.ref}", "",
             table(rows, ["artifact", "flow", str(old.ref), str(new.ref), "relation", "flags"])]
    if with_log:
        for r in related:
            if r.ahead or r.behind:
                lines += ["", f"{r.artifact.display_name}:", *_log_lines(app, r)]
    return "\n".join(lines)


def _log_lines(app: AppContext, related: Any) -> list[str]:
    from git_kosli.model import short

    out = []
    for sign, include, exclude in (("+", related.right_commit, related.left_commit),
                                   ("-", related.left_commit, related.right_commit)):
        commits = app.history.exclusive(include=[include], exclude=[exclude])
        subjects = app.history.subjects(commits)
        out += [f"  {sign} {short(c)} {subjects[c]}" for c in commits]
    return out
