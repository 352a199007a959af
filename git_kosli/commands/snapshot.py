"""`git kosli snapshot import|record|list|show`: feed the embedded store and read it back."""

from __future__ import annotations

import time
from typing import Any

import click

from git_kosli.context import AppContext, pass_app
from git_kosli.errors import SourceError, UnknownRevisionError, UsageError
from git_kosli.model import Artifact, EnvName, Provenance, Snapshot, SnapshotRef, clean_text
from git_kosli.params import SNAPSHOT, artifact_spec, json_option
from git_kosli.snapshot_expr import SnapshotExpr, is_env_name


def _env(value: str) -> EnvName:
    if not is_env_name(value):
        raise UsageError(f"invalid environment name '{clean_text(value)}': use letters, digits, '.', '-' and '_'")
    return EnvName(value)


def _env_name(ctx: click.Context, param: click.Parameter, value: str) -> EnvName:
    return _env(value)


@click.group()
def snapshot() -> None:
    """Environment snapshots in the embedded store."""


@snapshot.command("import")
@click.argument("names", nargs=-1, required=True, metavar="[ENV] FILE")
@click.option("--flow", help="The flow of an artifact listing whose items do not name it.")
@click.pass_context
@pass_app
def import_(app: AppContext, ctx: click.Context, names: tuple[str, ...], flow: str | None) -> None:
    """Import what `kosli get snapshot ENV#N --output json` prints (one snapshot or a list) into ENV.

    Without ENV, FILE is what `kosli list artifacts --flow FLOW --output json` prints: the flow's
    builds, deployed or not. FILE may be -. All of it or nothing: a document with anything wrong
    in it (not UTF-8 JSON, a number that is not one, a snapshot without its number) is refused,
    naming the file, and the store is left as it was.
    """
    from git_kosli.sources.kosli.json import is_artifact_listing, loads_strict

    if len(names) > 2:
        raise UsageError(f"too many arguments: {clean_text(' '.join(names[2:]))} (expected [ENV] FILE)")
    env = _env(names[0]) if len(names) == 2 else None
    file = click.File("rb").convert(names[-1], None, ctx)
    name = clean_text(str(getattr(file, "name", "<stdin>")))
    try:
        document = loads_strict(file.read())
    except ValueError as error:
        raise SourceError(f"{name}: not valid JSON ({error})") from None
    if is_artifact_listing(document):
        if env is not None:
            raise UsageError(f"{name} lists a flow's artifacts, not snapshots: import it without ENV")
        _import_builds(app, name, document, flow)
        return
    if env is None:
        raise UsageError(f"{name} is not an artifact listing: name the environment (snapshot import ENV FILE)")
    _import_snapshots(app, name, env, document)


def _import_snapshots(app: AppContext, name: str, env: EnvName, document: Any) -> None:
    from git_kosli.sources.kosli.json import snapshot_from_json

    items = document if isinstance(document, list) else [document]
    try:
        snapshots = [snapshot_from_json(item, env) for item in items]
    except SourceError as error:
        raise SourceError(f"{name}: {error.message}") from None
    env_type = next((i["type"] for i in items if isinstance(i, dict) and isinstance(i.get("type"), str)), "")
    added = app.store(create=True).put_snapshots(snapshots, env_type=env_type)
    for snap in snapshots:
        click.echo(f"{'imported' if snap.ref in added else 'unchanged'} {snap.ref} ({len(snap.artifacts)} running)")


def _import_builds(app: AppContext, name: str, document: list[Any], flow: str | None) -> None:
    from git_kosli.sources.kosli.json import build_from_listing

    if flow is not None and clean_text(flow) != flow:
        raise UsageError(f"invalid --flow '{clean_text(flow)}': a flow cannot hold control characters")
    try:
        builds = [build_from_listing(item, flow) for item in document]
    except SourceError as error:
        raise SourceError(f"{name}: {error.message}") from None
    changed = app.store(create=True).put_builds(builds)
    for listed in sorted({b.flow for b in builds}):
        count = sum(b.flow == listed for b in builds)
        new = sum(b.flow == listed for b in changed)
        click.echo(f"imported {new} of {count} build{'s' if count != 1 else ''} of flow {listed}")


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


def _parse_artifact(app: AppContext, text: str, flow: str | None) -> Artifact:
    spec = artifact_spec("--artifact", text, flow)
    provenance: tuple[Provenance, ...] = ()
    if spec.commitish is not None:
        commit = app.history.resolve_or_none(spec.commitish)
        if commit is None:
            raise UnknownRevisionError(f"--artifact '{text}': '{spec.commitish}' is not a commit in this repository")
        provenance = (Provenance(flow=flow or spec.default_flow, git_commit=commit),)
    return Artifact(name=spec.name, fingerprint=spec.fingerprint, provenance=provenance)


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
    from git_kosli.pairing import flows_to_show
    from git_kosli.views.snapshot import show_json, show_text

    snap = app.source.resolve(expr)
    flows = flows_to_show(snap, app.matcher.flow_of)
    if as_json:
        click.echo(show_json(snap, flows))
    else:
        app.show(show_text(snap, flows))
