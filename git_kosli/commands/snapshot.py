"""`git kosli snapshot import|record|list|show`: feed the embedded store and read it back."""

from __future__ import annotations

import re
import time
from typing import Any

import click

from git_kosli.context import AppContext, pass_app
from git_kosli.errors import SourceError, UnknownRevisionError, UsageError
from git_kosli.model import (
    Artifact,
    EnvName,
    Fingerprint,
    Provenance,
    Snapshot,
    SnapshotRef,
    clean_text,
    is_fingerprint,
)
from git_kosli.params import SNAPSHOT, json_option
from git_kosli.snapshot_expr import SnapshotExpr, is_env_name

_ARTIFACT_SPEC = re.compile(r"^(?P<name>[^=]+)=(?P<fingerprint>[^@]+)(?:@(?P<commit>.+))?$")


def _env_name(ctx: click.Context, param: click.Parameter, value: str) -> EnvName:
    if not is_env_name(value):
        raise UsageError(f"invalid environment name '{clean_text(value)}': use letters, digits, '.', '-' and '_'")
    return EnvName(value)


@click.group()
def snapshot() -> None:
    """Environment snapshots in the embedded store."""


@snapshot.command("import")
@click.argument("env", callback=_env_name)
@click.argument("file", type=click.File("rb"))
@pass_app
def import_(app: AppContext, env: EnvName, file: Any) -> None:
    """Import what `kosli get snapshot ENV#N --output json` prints (one snapshot or a list); FILE may be -.

    All of it or nothing: a document with anything wrong in it (not UTF-8 JSON, a number that is
    not one, a snapshot without its number) is refused, naming the file, and the store is left as it was.
    """
    from git_kosli.sources.kosli.json import loads_strict, snapshot_from_json

    name = clean_text(str(getattr(file, "name", "<stdin>")))
    try:
        document = loads_strict(file.read())
    except ValueError as error:
        raise SourceError(f"{name}: not valid JSON ({error})") from None
    items = document if isinstance(document, list) else [document]
    try:
        snapshots = [snapshot_from_json(item, env) for item in items]
    except SourceError as error:
        raise SourceError(f"{name}: {error.message}") from None
    env_type = next((i["type"] for i in items if isinstance(i, dict) and isinstance(i.get("type"), str)), "")
    added = app.store(create=True).put_snapshots(snapshots, env_type=env_type)
    for snap in snapshots:
        click.echo(f"{'imported' if snap.ref in added else 'unchanged'} {snap.ref} ({len(snap.artifacts)} running)")


@snapshot.command("record")
@click.argument("env", callback=_env_name)
@click.option(
    "--artifact",
    "specs",
    multiple=True,
    required=True,
    metavar="NAME=FINGERPRINT[@COMMIT]",
    help="A running artifact; COMMIT is any commit-ish. Without @COMMIT it has no provenance. Repeatable.",
)
@click.option("--flow", help="The flow to report the artifacts to (default: the name before ':' or '@').")
@pass_app
def record(app: AppContext, env: EnvName, specs: tuple[str, ...], flow: str | None) -> None:
    """Record the next snapshot of ENV from your own CI, without Kosli."""
    artifacts = tuple(_parse_artifact(app, spec, flow) for spec in specs)
    store = app.store(create=True)
    store.add_environment(env)
    latest = store.latest_index(env)
    previous = store.snapshot_or_none(SnapshotRef(env, latest)) if latest else None
    if previous is not None and _same_running(previous.artifacts, artifacts):
        click.echo(f"unchanged: {previous.ref} already runs these artifacts")
        return
    snap = Snapshot(ref=SnapshotRef(env, latest + 1), timestamp=time.time(), artifacts=artifacts)
    store.put_snapshots([snap])
    click.echo(f"recorded {snap.ref} ({len(artifacts)} running)")


def _parse_artifact(app: AppContext, spec: str, flow: str | None) -> Artifact:
    match = _ARTIFACT_SPEC.match(spec)
    if not match:
        raise UsageError(f"invalid --artifact '{spec}': expected NAME=FINGERPRINT[@COMMIT]")
    name, fingerprint, commitish = match["name"], match["fingerprint"].lower(), match["commit"]
    if clean_text(name) != name or clean_text(flow or "") != (flow or ""):
        raise UsageError(f"invalid --artifact '{clean_text(spec)}': a name or flow cannot hold control characters")
    if not is_fingerprint(fingerprint):
        raise UsageError(f"invalid --artifact '{spec}': the fingerprint must be 64 hex digits (a SHA-256)")
    provenance: tuple[Provenance, ...] = ()
    if commitish is not None:
        commit = app.history.resolve_or_none(commitish)
        if commit is None:
            raise UnknownRevisionError(f"--artifact '{spec}': '{commitish}' is not a commit in this repository")
        provenance = (Provenance(flow=flow or re.split(r"[:@]", name)[0], git_commit=commit),)
    return Artifact(name=name, fingerprint=Fingerprint(fingerprint), provenance=provenance)


def _same_running(old: tuple[Artifact, ...], new: tuple[Artifact, ...]) -> bool:
    return sorted((a.name, a.fingerprint) for a in old) == sorted((a.name, a.fingerprint) for a in new)


@snapshot.command("list")
@click.argument("env", callback=_env_name)
@json_option
@pass_app
def list_(app: AppContext, env: EnvName, as_json: bool) -> None:
    """List the snapshots of ENV, newest first."""
    from git_kosli.views.snapshot import list_json, list_text

    history = list(reversed(app.source.history(env)))
    if as_json:
        click.echo(list_json(env, history))
    else:
        app.show(list_text(history), long=True)


@snapshot.command("show")
@click.argument("expr", metavar="SNAPSHOT", type=SNAPSHOT)
@json_option
@pass_app
def show(app: AppContext, expr: SnapshotExpr, as_json: bool) -> None:
    """Show what ran in one snapshot (ENV, ENV#N, ENV~N, ENV@{...})."""
    from git_kosli.views.snapshot import show_json, show_text

    snap = app.source.resolve(expr)
    if as_json:
        click.echo(show_json(snap))
    else:
        app.show(show_text(snap))
