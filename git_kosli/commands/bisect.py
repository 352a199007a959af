"""`git kosli bisect OLD NEW`: start a real `git bisect` between what ran in two snapshots."""

from __future__ import annotations

import json
from typing import Any

import click

from git_kosli.context import AppContext, pass_app
from git_kosli.params import SNAPSHOT
from git_kosli.snapshot_expr import SnapshotExpr


class BisectGroup(click.Group):
    """`git kosli bisect OLD NEW` is `git kosli bisect start OLD NEW`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["start", *args]
        return super().parse_args(ctx, args)


@click.group(cls=BisectGroup)
def bisect() -> None:
    """Bisect the commits between what ran in two environment snapshots."""


@bisect.command("start")
@click.argument("old", type=SNAPSHOT)
@click.argument("new", type=SNAPSHOT)
@click.argument("pathspec", nargs=-1)
@click.option("--artifact", metavar="NAME", help="The artifact (name or flow) to bisect when several changed.")
@click.option("--first-parent", is_flag=True, help="Follow only the first parent of merges (passed to git bisect).")
@click.option("--no-checkout", is_flag=True, help="Do not touch the working tree; git moves BISECT_HEAD instead.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables.")
@pass_app
def start(
    app: AppContext,
    old: SnapshotExpr,
    new: SnapshotExpr,
    pathspec: tuple[str, ...],
    artifact: str | None,
    first_parent: bool,
    no_checkout: bool,
    as_json: bool,
) -> int:
    """Start `git bisect` with bad = the commit running in NEW and good = the one in OLD.

    OLD and NEW are snapshot expressions: ENV, ENV#N, ENV~N, ENV@{2.days.ago}.
    Paths after `--` limit the candidates, as with git bisect.
    """
    from git_kosli import git_bisect
    from git_kosli.bisect_plan import plan_bisect
    from git_kosli.notes import write_notes
    from git_kosli.render import bisect_json, bisect_text

    git_bisect.require_no_bisect(app.paths)
    plan = plan_bisect(
        source=app.source,
        history=app.history,
        matcher=app.matcher,
        old_expr=old,
        new_expr=new,
        artifact=artifact,
        first_parent=first_parent,
        pathspec=pathspec,
    )
    started = git_bisect.start(
        app.paths,
        bad=plan.new_commit,
        good=plan.old_commit,
        first_parent=first_parent,
        no_checkout=no_checkout,
        pathspec=pathspec,
    )
    plan_json = bisect_json(plan)
    try:
        write_notes(app.paths, {c.commit: "\n".join(c.facts.lines(full=True)) for c in plan.candidates}, command="bisect")
        git_bisect.save_state(app.paths, _state(plan_json))
    except BaseException:
        git_bisect.reset(app.paths)  # no half-started bisect
        raise
    if as_json:
        click.echo(json.dumps(plan_json, indent=2))
        click.echo(started.stdout, err=True, nl=False)
    else:
        app.show(bisect_text(plan) + "\n")
        click.echo(started.stdout, nl=False)
    return 0


def _state(document: dict[str, Any]) -> dict[str, Any]:
    """What later `git kosli bisect` steps need to know of this session."""
    return {key: document[key] for key in ("old", "new", "artifact")}
