"""`git kosli where COMMIT-ISH`: in which environments a commit runs, since when, and where it was rolled back."""

from __future__ import annotations

import click

from git_kosli.context import AppContext, pass_app
from git_kosli.errors import ExitCode, UnknownRevisionError
from git_kosli.params import env_option, json_option


@click.command()
@click.argument("commitish", metavar="COMMIT-ISH|ARTIFACT")
@env_option
@json_option
@pass_app
def where(app: AppContext, commitish: str, envs: tuple[str, ...], as_json: bool) -> int:
    """Say where a commit runs: its own artifact, or inside a later build; and where it was rolled back.

    Instead of a commit, give what you have in hand: a fingerprint (or a unique prefix of at least 7
    hex digits) or an image name with tag or digest (`runner:6a29198`, `REGISTRY/runner@sha256:DIGEST`); the
    artifact is found among what ran, and the answer is for the commit it was built from. A string that
    is also a revision (`6a29198`) is taken as the revision. Exits 1 when the commit runs in no environment
    (as far as this clone can tell).
    """
    from git_kosli.facts import first_build_of
    from git_kosli.locate import locate
    from git_kosli.lookup import Resolved, is_artifact_reference, resolve
    from git_kosli.pairing import require_this_repository
    from git_kosli.sources import load_builds, load_histories
    from git_kosli.views.where import where_json, where_text

    resolved: Resolved | None = None
    commit = app.history.resolve_or_none(commitish)
    if commit is None and not is_artifact_reference(commitish):
        raise UnknownRevisionError(f"unknown revision '{commitish}': not a commit in this repository")
    histories = load_histories(app.source, envs)
    matcher = app.matcher_for(histories)
    require_this_repository(histories, matcher)
    if commit is None:
        everywhere = histories if not envs else load_histories(app.source, [])
        ran = (a for history in everywhere.values() for snapshot in history for a in snapshot.artifacts)
        resolved = resolve(commitish, ran, commit_of=matcher.commit_of, has_commit=app.history.has_commit)
        commit = resolved.commit
    built = load_builds(app.source, histories, matcher)
    missing = app.missing_commits(histories, matcher, built)
    containers = app.history.containing(commit, [sha for sha in built if sha not in missing])
    presences = [
        locate(commit, history, env, entry_of=matcher.provenance_of, containers=containers, missing=missing)
        for env, history in histories.items()
    ]
    parents = app.history.parents(commit)
    build = (
        None
        if commit in built
        else first_build_of(commit, containers, built, lambda tips: app.history.ancestry(tips, exclude=parents))
    )
    entry = matcher.provenance_of(resolved.artifact) if resolved else None
    asked = (resolved.artifact, entry) if resolved and entry else None
    if as_json:
        click.echo(where_json(commit, presences, build, asked))
    else:
        subject = app.history.subjects([commit])[commit]
        app.show(where_text(commit, subject, presences, build, asked, shallow=app.paths.shallow), long=True)
    return ExitCode.OK if any(p.deployed for p in presences) else ExitCode.NO
