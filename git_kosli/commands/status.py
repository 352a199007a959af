"""`git kosli status [REVISION]`: what each environment runs of this repository, relative to a revision."""

from __future__ import annotations

import click

from git_kosli.context import AppContext, pass_app
from git_kosli.errors import UnknownRevisionError
from git_kosli.params import env_option, json_option


@click.command()
@click.argument("revision", default="HEAD")
@env_option
@json_option
@pass_app
def status(app: AppContext, revision: str, envs: tuple[str, ...], as_json: bool) -> None:
    """Per environment: the running commit, how far behind or ahead of REVISION (default HEAD), since when, flags.

    Flags: rogue and non-compliant artifacts, and `not-contained` for a running commit REVISION
    does not contain (a hotfix deployed from another branch).
    """
    from git_kosli.views.status import status_json, status_table

    commit = app.history.resolve_or_none(revision)
    if commit is None:
        raise UnknownRevisionError(f"unknown revision '{revision}': not a commit in this repository")
    statuses = app.environment_statuses(commit, envs)
    if as_json:
        click.echo(status_json(revision, commit, statuses))
    elif not statuses and app.source_name == "local":  # say how to get snapshots rather than show an empty table
        from git_kosli.errors import GET_SNAPSHOTS

        click.echo("no environments: no Kosli org is set and the embedded store has no snapshots")
        for hint in GET_SNAPSHOTS:
            click.echo(f"hint: {hint}", err=True)
    else:
        app.show(status_table(statuses, revision, shallow=app.paths.shallow))
