"""`git kosli status [REVISION]`: what each environment runs of this repository, relative to a revision."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import click

from git_kosli.context import AppContext, pass_app
from git_kosli.errors import UnknownRevisionError

if TYPE_CHECKING:
    from git_kosli.model import CommitSha


@click.command()
@click.argument("revision", default="HEAD")
@click.option("--env", "envs", multiple=True, metavar="ENV", help="Only this environment (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_app
def status(app: AppContext, revision: str, envs: tuple[str, ...], as_json: bool) -> None:
    """Per environment: the running commit, how far behind or ahead of REVISION (default HEAD), since when, flags.

    Flags: rogue and non-compliant artifacts, and `not-contained` for a running commit REVISION
    does not contain (a hotfix deployed from another branch).
    """
    commit = app.history.resolve_or_none(revision)
    if commit is None:
        raise UnknownRevisionError(f"unknown revision '{revision}': not a commit in this repository")
    statuses = compute(app, commit, envs)
    if as_json:
        click.echo(json.dumps({"revision": commit, "environments": [status_json(s) for s in statuses]}, indent=2))
    else:
        app.show(status_table(statuses, revision))


def compute(app: AppContext, revision: CommitSha, envs: tuple[str, ...] | list[str]) -> list[Any]:
    """The status of each environment against one revision."""
    from git_kosli.deployments import environment_statuses
    from git_kosli.sources import load_histories

    return environment_statuses(load_histories(app.source, envs), revision=revision, commit_of=app.matcher.commit_of,
                                divergences=app.history.divergences)


def flags(status: Any, running: Any | None) -> list[str]:
    """The warnings of one environment line."""
    out = ["rogue"] if status.rogue else []
    out += ["non-compliant"] if status.non_compliant else []
    out += ["not-contained"] if running is not None and not running.contained else []
    return out


def age(timestamp: float, now: float | None = None) -> str:
    """`3 days ago`, `2 hours ago`, `5 minutes ago`."""
    seconds = max(0, int((now or time.time()) - timestamp))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            amount = seconds // size
            return f"{amount} {unit}{'s' if amount != 1 else ''} ago"
    return "just now"


def status_table(statuses: list[Any], revision: str) -> str:
    """One row per running commit of this repository (or one for an environment that runs none)."""
    from git_kosli.model import short
    from git_kosli.render import table

    rows = []
    for s in statuses:
        snapshot = f"#{s.latest.index}" if s.latest else "-"
        for r in s.running or [None]:
            if r is None:
                rows.append([s.env, snapshot, "-", "-", "-", "-", " ".join(flags(s, None))])
                continue
            rows.append([s.env, snapshot, f"{short(r.commit)} {r.artifact.display_name}", str(r.behind),
                         str(r.ahead), f"#{r.since.index} ({age(r.since.timestamp)})", " ".join(flags(s, r))])
    return table(rows, ["environment", "snapshot", "running", f"behind {revision}", "ahead", "since", "flags"])


def status_json(s: Any) -> dict[str, Any]:
    """One environment's status for `--json`."""
    from git_kosli.render import iso_utc

    return {
        "environment": s.env,
        "snapshot": s.latest.index if s.latest else None,
        "running": [
            {"commit": r.commit, "artifact": r.artifact.name, "fingerprint": r.artifact.fingerprint,
             "behind": r.behind, "ahead": r.ahead, "contained": r.contained,
             "since": {"snapshot": r.since.index, "timestamp": iso_utc(r.since.timestamp)}}
            for r in s.running
        ],
        "rogue": [a.name for a in s.rogue],
        "non_compliant": [a.name for a in s.non_compliant],
    }
