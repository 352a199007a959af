"""`git kosli build record`: keep one build of this repository in the embedded store, as CI makes it."""

from __future__ import annotations

import time

import click

from git_kosli.context import AppContext, pass_app
from git_kosli.errors import UnknownRevisionError, UsageError
from git_kosli.params import artifact_spec


@click.group()
def build() -> None:
    """Builds of this repository in the embedded store: every artifact a flow made, deployed or not."""


@build.command("record")
@click.argument("spec", metavar="NAME=FINGERPRINT@COMMIT")
@click.option("--flow", help="The flow that built it (default: the name before ':' or '@').")
@pass_app
def record(app: AppContext, spec: str, flow: str | None) -> None:
    """Record that CI built NAME (a SHA-256 FINGERPRINT) from COMMIT (any commit-ish), now.

    `where`, `bisect` and `notes` then count it among the builds, deployed or not.
    """
    from git_kosli.model import FlowArtifact, short

    parsed = artifact_spec("build", spec, flow)
    if parsed.commitish is None:
        raise UsageError(f"invalid build '{spec}': a build needs its commit: NAME=FINGERPRINT@COMMIT")
    commit = app.history.resolve_or_none(parsed.commitish)
    if commit is None:
        raise UnknownRevisionError(f"build '{spec}': '{parsed.commitish}' is not a commit in this repository")
    store = app.store(create=True)
    flow = flow or parsed.default_flow
    kept = next((b for b in store.builds([flow]) if b.fingerprint == parsed.fingerprint), None)
    if kept is not None and (kept.name, kept.git_commit) == (parsed.name, commit):
        click.echo(f"unchanged: {parsed.name} built from {short(commit)} (flow {flow})")
        return
    store.put_builds([FlowArtifact(flow, parsed.name, parsed.fingerprint, commit, None, time.time())])
    click.echo(f"recorded {parsed.name} built from {short(commit)} (flow {flow})")
