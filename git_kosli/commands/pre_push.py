"""`git kosli pre-push REMOTE URL`: the hook's logic. Fail-open: it never stops a push by accident, nor holds it."""

from __future__ import annotations

import math
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from git_kosli.context import AppContext, pass_app
from git_kosli.errors import ExitCode, KosliError

if TYPE_CHECKING:
    from git_kosli.git.hooks import PushedRef

DEFAULT_TIMEOUT = 2.0
LONGEST_TIMEOUT = 60.0
OFFLINE = "kosli: status unknown (offline)"


@click.command("pre-push")
@click.argument("remote", required=False)
@click.argument("url", required=False)
@pass_app
def pre_push(app: AppContext, remote: str | None, url: str | None) -> int:
    """Show, before a push, what each environment runs relative to each pushed ref (on stderr).

    Reads git's ref lines from stdin (or pre-commit's PRE_COMMIT_* variables). It blocks the push
    only when kosli.prePush.block is `missing-deployed` and a pushed ref would not contain a commit
    running in one of kosli.prePush.environments. Past kosli.prePush.timeout (default 2 s, at most
    60), or on any error, it says `status unknown (offline)` and lets the push go: no request to
    Kosli runs past that time, so the hook returns then, whatever the network does. Environments
    fetched before are read from the cache, however old: when older than kosli.fetch.maxAge, a line
    says how old and `git kosli fetch --background` refreshes them for the next push.
    """
    from git_kosli.git.hooks import parse_push_lines, pre_commit_refs

    refs = parse_push_lines(sys.stdin.read() if not sys.stdin.isatty() else "") or pre_commit_refs(app.environ)
    refs = [r for r in refs if not r.deleted]
    if not refs:
        return 0
    timeout, problem = _timeout(app)
    if problem:
        click.echo(problem, err=True)
    app.deadline = time.monotonic() + timeout
    app.refresh = "never-fetched"
    outcome = _Outcome()
    worker = threading.Thread(target=_check, args=(app, refs, outcome), daemon=True)
    worker.start()
    worker.join(timeout)
    if outcome.lines is None:
        app.abandon()  # the check may still be using them: the process's end releases them, nothing waits
        click.echo(OFFLINE, err=True)
        return 0
    for line in outcome.lines:
        click.echo(line, err=True)
    return ExitCode.NO if outcome.blocked else ExitCode.OK


def _timeout(app: AppContext) -> tuple[float, str | None]:
    """kosli.prePush.timeout in seconds, and what is wrong with it when the default stands in."""
    try:
        raw = app.config.get_or_none("kosli.prePush.timeout")
    except KosliError:  # no readable config: the default, and the check will say what is wrong
        return DEFAULT_TIMEOUT, None
    if raw is None:
        return DEFAULT_TIMEOUT, None
    try:
        seconds = float(raw.strip())
    except ValueError:
        seconds = math.nan
    if not 0 < seconds <= LONGEST_TIMEOUT:  # NaN fails this too
        from git_kosli.model import clean_text

        return DEFAULT_TIMEOUT, (
            f"kosli: kosli.prePush.timeout '{clean_text(raw)[:40]}' is not a number of seconds "
            f"from 0 to {LONGEST_TIMEOUT:g}; using {DEFAULT_TIMEOUT:g}"
        )
    return seconds, None


@dataclass
class _Outcome:
    """What the worker found: the lines to print (None until all are known) and whether to block."""

    lines: list[str] | None = None
    blocked: bool = False


def _check(app: AppContext, refs: list[PushedRef], outcome: _Outcome) -> None:
    """Compute every line first, then publish: a time-out never prints half an answer."""
    from git_kosli.deployments import missing_deployed
    from git_kosli.model import commit_sha_or_none, short
    from git_kosli.sources import load_histories
    from git_kosli.views.status import push_lines

    try:
        block, blocking_envs, lines = _blocking(app)
        histories = load_histories(app.source, [])
        lines += _unknown(blocking_envs, list(histories))
        blocked = False
        for ref in refs:
            commit = commit_sha_or_none(ref.local_sha) or app.history.resolve_or_none(ref.local_sha)
            if commit is None:
                continue  # pre-commit named a ref that is not here; nothing to say about it
            statuses = app.environment_statuses(commit, [], histories=histories)
            name = ref.remote_ref.removeprefix("refs/heads/") or ref.local_ref
            lines += push_lines(statuses, name, shallow=app.paths.shallow)
            if block:
                for s, r in missing_deployed(statuses, blocking_envs):
                    blocked = True
                    fetched = "" if r.fetched else " (not fetched here, so in none of its commits)"
                    lines.append(
                        f"kosli: refusing to push {name}: it does not contain {short(r.commit)}{fetched}, which "
                        f"runs in {s.env} (kosli.prePush.block=missing-deployed)"
                    )
        notice = app.take_old_data_notice()
        if notice is not None:
            lines.append(f"kosli: {notice}; {_refreshing(app)}")
        outcome.blocked = blocked
        outcome.lines = lines
    except Exception as error:  # a hook must fail open: any error means "unknown", never a blocked push
        outcome.lines = [f"kosli: status unknown ({_why(error)})"]


def _refreshing(app: AppContext) -> str:
    """Start a fetch in the background for the next push, and say so."""
    try:
        app.fetch_in_background([])
    except OSError:
        return "run 'git kosli fetch'"
    return "fetching in the background"


def _blocking(app: AppContext) -> tuple[bool, list[str], list[str]]:
    """Whether to block, in which environments, and what is wrong with those settings (said, never fatal)."""
    from git_kosli.model import clean_text

    mode = app.config.get_or_none("kosli.prePush.block") or "never"
    envs = [e.strip() for v in app.config.get_all("kosli.prePush.environments") for e in v.split(",") if e.strip()]
    said = []
    if mode not in ("never", "missing-deployed"):
        shown = clean_text(mode)[:40]
        said.append(f"kosli: kosli.prePush.block '{shown}' is not never or missing-deployed; not blocking")
    if mode == "missing-deployed" and not envs:
        said.append("kosli: kosli.prePush.block is missing-deployed but kosli.prePush.environments names none")
    return mode == "missing-deployed", envs, said


def _unknown(named: list[str], known: list[str]) -> list[str]:
    """A line for each environment kosli.prePush.environments names that does not exist (a typo blocks nothing)."""
    from git_kosli.model import clean_text

    there = ", ".join(sorted(known)) or "none"
    return [
        f"kosli: kosli.prePush.environments names '{clean_text(env)[:60]}', which is not an environment "
        f"(environments: {there})"
        for env in dict.fromkeys(named)
        if env not in known
    ]


def _why(error: Exception) -> str:
    """Why the status is unknown, in our words: never git's own error text, never a traceback."""
    from git_kosli.errors import GitCommandError

    return "git could not answer; 'git kosli status' says more" if isinstance(error, GitCommandError) else "offline"
