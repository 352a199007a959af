"""`git kosli env` (or `environments`): the environments, what each runs of this repository, and how far from HEAD."""

from __future__ import annotations

import click

from git_kosli.context import AppContext, pass_app
from git_kosli.errors import UnknownRevisionError
from git_kosli.params import json_option


@click.command()
@json_option
@pass_app
def env(app: AppContext, as_json: bool) -> None:
    """List the environments: type, latest snapshot and its age, and this repository's running commit.

    The running commit's distance from HEAD says how many commits a deploy of HEAD would bring
    (behind) and how many it runs that HEAD lacks (ahead). Also spelled `git kosli environments`.
    """
    from git_kosli.views.env import env_json, env_text

    head = app.history.resolve_or_none("HEAD")
    if head is None:
        raise UnknownRevisionError("HEAD does not name a commit yet: commit first, or check out a branch")
    statuses = app.environment_statuses(head, [])
    types = app.source.environment_types()
    if as_json:
        click.echo(env_json(head, statuses, types))
    else:
        app.show(env_text(statuses, types, shallow=app.paths.shallow))
