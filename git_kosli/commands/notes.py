"""`git kosli notes`: write where each commit ran as git notes under refs/notes/kosli, in one notes commit."""

from __future__ import annotations

import click

from git_kosli.context import AppContext, pass_app
from git_kosli.errors import UnknownRevisionError
from git_kosli.params import env_option


@click.command()
@click.argument("revisions", metavar="[REVISION-RANGE]", required=False)
@env_option
@pass_app
def notes(app: AppContext, revisions: str | None, envs: tuple[str, ...]) -> None:
    """Annotate commits with the environments they ran in (default: every commit any environment ran).

    Each commit gets one line per run of snapshots its own artifact ran in (`aws-beta#38..#40 NAME`),
    `built NAME; never deployed`, or, never built itself, `no artifact; first build SHA (NAME)`.
    Running it again changes nothing unless the history did, so it is safe in CI. With --env, the
    other environments' lines stay in the notes it rewrites. Show them with `git log --notes=kosli`.
    """
    from git_kosli.pairing import require_this_repository
    from git_kosli.sources import load_histories
    from git_kosli.views.notes import notes_line

    wanted = None
    if revisions is not None:
        wanted = app.history.commits_of_range_or_none(revisions)
        if wanted is None:
            raise UnknownRevisionError(f"unknown revision or range '{revisions}'")
    histories = load_histories(app.source, envs)
    require_this_repository(histories, app.matcher_for(histories))
    changed, count = app.write_notes(histories, wanted, only=envs)
    click.echo(notes_line(changed=changed, count=count))
