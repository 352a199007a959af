"""`git kosli diff SNAP1 SNAP2`: two snapshots (two environments, or two moments of one) as commit ranges."""

from __future__ import annotations

import click

from git_kosli.context import AppContext, pass_app
from git_kosli.errors import ExitCode
from git_kosli.params import SNAPSHOT, json_option
from git_kosli.snapshot_expr import SnapshotExpr


@click.command()
@click.argument("left", metavar="SNAP1", type=SNAPSHOT)
@click.argument("right", metavar="SNAP2", type=SNAPSHOT)
@click.option("--log", "with_log", is_flag=True, help="List the commits each way (short sha, subject).")
@json_option
@pass_app
def diff(app: AppContext, left: SnapshotExpr, right: SnapshotExpr, with_log: bool, as_json: bool) -> int:
    """Pair the artifacts of two snapshots by flow and say how their commits relate.

    Relations: same, ahead (SNAP2 has commits SNAP1 lacks), behind (a rollback within one
    environment), diverged, added, removed, other-repo, and not fetched (unknown in JSON: this
    repository's commit is not in this clone). Exits 1 when there is a difference, as
    `git diff --exit-code` does.
    """
    from git_kosli.pairing import diff_snapshots
    from git_kosli.ranges import Relation, relate_all
    from git_kosli.views.diff import diff_json, diff_text

    old, new = app.source.resolve_all([left, right])
    related = relate_all(
        diff_snapshots(old=old, new=new, ours=app.matcher.flow_of), app.matcher, app.history.divergences
    )
    if as_json:
        click.echo(diff_json(old, new, related))
    else:
        logs = None
        if with_log:
            logs = {
                i: (
                    app.history.log_lines(include=r.right_commit, exclude=r.left_commit),
                    app.history.log_lines(include=r.left_commit, exclude=r.right_commit),
                )
                for i, r in enumerate(related)
                if (r.ahead or r.behind) and r.left_commit and r.right_commit
            }
        shown = diff_text(old, new, related, same_env=old.env == new.env, logs=logs, shallow=app.paths.shallow)
        app.show(shown, long=with_log)
    return ExitCode.OK if all(r.relation is Relation.SAME for r in related) else ExitCode.NO
