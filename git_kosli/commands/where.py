"""`git kosli where COMMIT-ISH`: in which environments a commit runs, since when, and where it was rolled back."""

from __future__ import annotations

import json

import click

from git_kosli.context import AppContext, pass_app
from git_kosli.errors import ExitCode, UnknownRevisionError
from git_kosli.params import env_option, json_option


@click.command()
@click.argument("commitish", metavar="COMMIT-ISH")
@env_option
@json_option
@pass_app
def where(app: AppContext, commitish: str, envs: tuple[str, ...], as_json: bool) -> int:
    """Say where a commit runs: its own artifact, or inside a later build; and where it was rolled back.

    Exits 1 when the commit runs in no environment.
    """
    from git_kosli.locate import first_build, first_seen_builds, locate
    from git_kosli.pairing import require_this_repository
    from git_kosli.sources import load_histories
    from git_kosli.views.where import where_json, where_text

    commit = app.history.resolve_or_none(commitish)
    if commit is None:
        raise UnknownRevisionError(f"unknown revision '{commitish}': not a commit in this repository")
    histories = load_histories(app.source, envs)
    require_this_repository(histories, app.matcher)
    seen = first_seen_builds(histories, app.matcher.commit_of)
    containers = app.history.containing(commit, seen)
    presences = [
        locate(commit, history, env, commit_of=app.matcher.commit_of, containers=containers)
        for env, history in histories.items()
    ]
    build = first_build(commit, containers, seen)
    if as_json:
        click.echo(json.dumps(where_json(commit, presences, build), indent=2))
    else:
        subject = app.history.subjects([commit])[commit]
        app.show(where_text(commit, subject, presences, build), long=True)
    return ExitCode.OK if any(p.deployed for p in presences) else ExitCode.NO
