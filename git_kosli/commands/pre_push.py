"""`git kosli pre-push REMOTE URL`: the hook's logic. Fail-open: it never stops a push by accident."""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from git_kosli.context import AppContext, pass_app
from git_kosli.errors import ExitCode

if TYPE_CHECKING:
    from git_kosli.git.hooks import PushedRef

DEFAULT_TIMEOUT = 2.0


@click.command("pre-push")
@click.argument("remote", required=False)
@click.argument("url", required=False)
@pass_app
def pre_push(app: AppContext, remote: str | None, url: str | None) -> int:
    """Show, before a push, what each environment runs relative to each pushed ref (on stderr).

    Reads git's ref lines from stdin (or pre-commit's PRE_COMMIT_* variables). It blocks the push
    only when kosli.prePush.block is `missing-deployed` and a pushed ref would not contain a commit
    running in one of kosli.prePush.environments. Past kosli.prePush.timeout (default 2 s), or on
    any error, it says `status unknown (offline)` and lets the push go.
    """
    from git_kosli.git.hooks import parse_push_lines, pre_commit_refs

    refs = parse_push_lines(sys.stdin.read() if not sys.stdin.isatty() else "") or pre_commit_refs(app.environ)
    refs = [r for r in refs if not r.deleted]
    if not refs:
        return 0
    outcome = _Outcome()
    worker = threading.Thread(target=_check, args=(app, refs, outcome), daemon=True)
    worker.start()
    worker.join(_timeout(app))
    if outcome.lines is None:
        click.echo("kosli: status unknown (offline)", err=True)
        return 0
    for line in outcome.lines:
        click.echo(line, err=True)
    return ExitCode.NO if outcome.blocked else ExitCode.OK


def _timeout(app: AppContext) -> float:
    try:
        return float(app.config.get_or_none("kosli.prePush.timeout") or DEFAULT_TIMEOUT)
    except ValueError:
        return DEFAULT_TIMEOUT


@dataclass
class _Outcome:
    """What the worker found: the lines to print (None until all are known) and whether to block."""

    lines: list[str] | None = None
    blocked: bool = False


def _check(app: AppContext, refs: list[PushedRef], outcome: _Outcome) -> None:
    """Compute every line first, then publish: a time-out never prints half an answer."""
    from git_kosli.deployments import missing_deployed
    from git_kosli.model import commit_sha_or_none, short
    from git_kosli.views.status import push_lines

    try:
        block = (app.config.get_or_none("kosli.prePush.block") or "never") == "missing-deployed"
        blocking_envs = [e.strip() for v in app.config.get_all("kosli.prePush.environments") for e in v.split(",")]
        lines, blocked = [], False
        for ref in refs:
            commit = commit_sha_or_none(ref.local_sha) or app.history.resolve_or_none(ref.local_sha)
            if commit is None:
                continue  # pre-commit named a ref that is not here; nothing to say about it
            statuses = app.environment_statuses(commit, [])
            name = ref.remote_ref.removeprefix("refs/heads/") or ref.local_ref
            lines += push_lines(statuses, name)
            if block:
                for s, r in missing_deployed(statuses, blocking_envs):
                    blocked = True
                    lines.append(
                        f"kosli: refusing to push {name}: it does not contain {short(r.commit)}, which runs "
                        f"in {s.env} (kosli.prePush.block=missing-deployed)"
                    )
        outcome.blocked = blocked
        outcome.lines = lines
    except Exception:  # a hook must fail open: any error means "unknown", never a blocked push
        outcome.lines = ["kosli: status unknown (offline)"]
