"""`git kosli fetch [ENV...]`: bring environment histories up to date and show what runs as refs/kosli/<env>."""

from __future__ import annotations

import click

from git_kosli.context import AppContext, pass_app
from git_kosli.params import ENV


@click.command()
@click.argument("envs", nargs=-1, type=ENV, metavar="[ENV]...")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but warnings and errors.")
@click.option(
    "--background",
    is_flag=True,
    help="Start the fetch detached and return at once (output in .git/kosli/fetch.log); nothing if one runs already.",
)
@pass_app
def fetch(app: AppContext, envs: tuple[str, ...], quiet: bool, background: bool) -> None:
    """Fetch each environment's snapshots (all by default) and point refs/kosli/ENV at the commit it runs.

    As `git fetch` keeps remote-tracking branches, this keeps a ref per environment at the commit of
    this repository's running artifact, or refs/kosli/ENV/ARTIFACT for each of several (a monorepo's
    services), so plain git answers deployment questions: `git log kosli/aws-prod..main` lists what
    a deploy would bring, `git reflog kosli/aws-prod` what ran there as fetches saw it (each entry dated
    when the deploy happened), `git branch --contains kosli/aws-prod` which branches hold it. Refs of
    environments that no longer run an artifact of this repository are deleted; a running commit not
    fetched here leaves its ref as it was, with a hint. What was read is cached: for kosli.fetch.maxAge
    seconds (default 60) other commands read it without asking Kosli, and `--offline` always. With
    `kosli.fetch.notes=true` refs/notes/kosli is refreshed too. Lines go to stderr, as `git fetch` prints
    them. `--background` is for hooks and editors: it never waits on the network.
    """
    from git_kosli.background import release

    if background:
        started = app.fetch_in_background(envs)
        if not quiet:
            click.echo("Fetching in the background" if started else "A fetch is running in the background", err=True)
        return
    app.refresh = "always"
    try:
        _fetch(app, envs, quiet=quiet)
    finally:
        release(app.paths.common_dir / "kosli")  # when this is the background fetch, it ends here


def _fetch(app: AppContext, envs: tuple[str, ...], *, quiet: bool) -> None:
    """Bring the histories up to date, move the refs, say what moved."""
    from git_kosli.env_refs import REF_PREFIX, ref_changes, slots
    from git_kosli.git.config import git_bool
    from git_kosli.git.refs import RefWrite, delete_refs, read_refs, write_refs
    from git_kosli.sources import load_histories
    from git_kosli.views.fetch import fetch_lines
    from git_kosli.views.notes import notes_line

    histories = load_histories(app.source, envs)
    matcher = app.matcher_for(histories)
    app.source.builds(matcher.repository_flows(histories.values()))  # this repository's builds: `where` reads them
    found, refused = slots(histories, commit_of=matcher.commit_of, has_commit=app.history.has_commit)
    changes = ref_changes(read_refs(app.paths, REF_PREFIX), found, envs=set(envs) if envs else None)
    delete_refs(app.paths, changes.deletions)
    write_refs(app.paths, [RefWrite(s.ref, s.commit, old, s.message, s.since.timestamp) for s, old in changes.writes])
    counts = app.history.divergences([(old, s.commit) for s, old in changes.writes if old is not None])
    source = (
        "the embedded store" if app.source_name == "local" else f"Kosli org {app.settings.org} ({app.settings.host})"
    )
    for line in fetch_lines(source, changes, counts, refused, shallow=app.paths.shallow):
        if not quiet or line.startswith("warning:"):
            click.echo(line, err=True)
    if git_bool(app.config.get_or_none("kosli.fetch.notes")):
        changed, count = app.write_notes(histories if not envs else load_histories(app.source, []))
        if not quiet:
            click.echo(notes_line(changed=changed, count=count), err=True)
