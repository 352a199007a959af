"""`git kosli where COMMIT-ISH`: in which environments a commit runs, since when, and where it was rolled back."""

from __future__ import annotations

import json
from typing import Any

import click

from git_kosli.context import AppContext, pass_app
from git_kosli.errors import UnknownRevisionError


@click.command()
@click.argument("commitish", metavar="COMMIT-ISH")
@click.option("--env", "envs", multiple=True, metavar="ENV", help="Only this environment (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of a table.")
@pass_app
def where(app: AppContext, commitish: str, envs: tuple[str, ...], as_json: bool) -> int:
    """Say where a commit runs: its own artifact, or inside a later build; and where it was rolled back.

    Exits 1 when the commit runs in no environment.
    """
    from git_kosli.locate import first_build, first_seen_builds, locate
    from git_kosli.pairing import require_this_repository
    from git_kosli.sources import load_histories

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
    subject = app.history.subjects([commit])[commit]
    document = _document(commit, presences, build)
    if as_json:
        click.echo(json.dumps(document, indent=2))
    else:
        app.show(_text(commit, subject, presences, build), long=True)
    return 0 if any(p.deployed for p in presences) else 1


def _document(commit: str, presences: list[Any], build: Any) -> dict[str, Any]:
    from git_kosli.render import iso_utc

    def point(snapshot: Any) -> dict[str, Any] | None:
        return None if snapshot is None else {"snapshot": snapshot.index, "timestamp": iso_utc(snapshot.timestamp)}

    return {
        "commit": commit,
        "environments": [
            {
                "environment": p.env,
                "status": p.status.value,
                "snapshot": p.latest.index if p.latest else None,
                "artifacts": [_artifact(a) for a in p.artifacts],
                "first_seen": point(p.first_seen),
                "left": point(p.left),
            }
            for p in presences
        ],
        "first_build": None if build is None else {**_artifact(build[1]), "git_commit": build[0]},
    }


def _artifact(artifact: Any) -> dict[str, Any]:
    commit = next((p.git_commit for p in artifact.provenance if p.git_commit), None)
    return {"name": artifact.name, "fingerprint": artifact.fingerprint, "git_commit": commit, "flow": artifact.flow}


def _text(commit: str, subject: str, presences: list[Any], build: Any) -> str:
    from git_kosli.model import short
    from git_kosli.render import iso_utc, table

    def since(snapshot: Any) -> str:
        return "-" if snapshot is None else f"#{snapshot.index} ({iso_utc(snapshot.timestamp)})"

    header = f"commit {short(commit)} {subject}"
    if build is not None:
        header += f"\nnever built itself; first build {short(build[0])} ({build[1].display_name})"
    rows = [
        [p.env, p.status.value, since(p.first_seen), since(p.left),
         ", ".join(a.display_name for a in p.artifacts) or "-"]
        for p in presences
    ]
    return f"{header}\n\n{table(rows, ['environment', 'status', 'first seen', 'left', 'running as'])}"
