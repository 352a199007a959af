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
    or, never built itself, `no artifact; first build SHA (NAME)`. Running it again changes nothing
    unless the history did, so it is safe in CI. Show them with `git log --notes=kosli`.
    """
    from git_kosli.facts import builds, commit_facts, episodes_by_commit
    from git_kosli.git.notes import NotesTree
    from git_kosli.pairing import require_this_repository
    from git_kosli.sources import load_histories

    wanted = None
    if revisions is not None:
        wanted = app.history.commits_of_range_or_none(revisions)
        if wanted is None:
            raise UnknownRevisionError(f"unknown revision or range '{revisions}'")
    histories = load_histories(app.source, envs)
    require_this_repository(histories, app.matcher)
    commit_of = app.matcher.commit_of
    known = {sha: build for sha, build in builds(histories.values(), commit_of).items() if app.history.has_commit(sha)}
    facts = commit_facts(app.history.ancestry(known), episodes_by_commit(histories.values(), commit_of), known)
    texts = (
        (f.commit, f.text(full=True))
        for f in facts
        if (wanted is None or f.commit in wanted) and (f.episodes or f.first_build)
    )
    update = NotesTree(app.paths).compare(texts)
    changed = update.write(command="notes", progress=app.progress("Writing notes", len(update.changed)))
    count = update.compared
    state = "wrote" if changed else "up to date:"
    click.echo(f"{state} notes for {count} commit{'s' if count != 1 else ''} in refs/notes/kosli")
