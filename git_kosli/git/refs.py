"""Refs under refs/kosli/, read with `git for-each-ref` and written with `git update-ref --stdin` transactions.

Every write is compare-and-swap (the old value is checked) and leaves a reflog entry
(`--create-reflog`: git logs refs outside heads, remotes and notes only when asked), so
`git reflog kosli/aws-prod` lists what ran in aws-prod as fetches saw it. git's
`update-ref --stdin` takes one reflog message per process, so each ref is written by a
transaction of its own, and none commits before all of them are prepared: every ref is
locked and its old value checked first, and a refusal anywhere moves no ref.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Sequence
from typing import NamedTuple

from git_kosli.errors import GitCommandError
from git_kosli.git.repository import RepoPaths
from git_kosli.git.run import first_line, run_git
from git_kosli.model import CommitSha

_ZERO = "0" * 40


class RefWrite(NamedTuple):
    """Set `ref` to `new` if it is still at `old` (None: it must not exist), logging `message` dated `when`."""

    ref: str
    new: CommitSha
    old: CommitSha | None
    message: str
    when: float  # the reflog entry's time (seconds since the epoch): when the deploy happened


def read_refs(paths: RepoPaths, prefix: str) -> dict[str, CommitSha]:
    """Every ref under `prefix` (`refs/kosli/`) and the commit it points at."""
    listed = run_git(["for-each-ref", "--format=%(objectname) %(refname)", prefix], cwd=paths.cwd).stdout
    return {ref: CommitSha(sha) for sha, ref in (line.split(" ", 1) for line in listed.splitlines())}


def delete_refs(paths: RepoPaths, deletions: Sequence[tuple[str, CommitSha]]) -> None:
    """Delete refs that still point where they did, in one transaction.

    Raises:
        GitCommandError: a ref moved meanwhile (nothing was deleted), or git failed.
    """
    if not deletions:
        return
    commands = "".join(f"delete {ref} {old}\n" for ref, old in deletions)
    result = run_git(["update-ref", "--stdin"], cwd=paths.cwd, stdin=f"start\n{commands}prepare\ncommit\n", check=False)
    if result.returncode != 0:
        raise _refused(result.stderr)


def write_refs(paths: RepoPaths, writes: Sequence[RefWrite]) -> None:
    """Write refs, each with its own reflog message: all are prepared (locked, old values checked) before any commits.

    Raises:
        GitCommandError: a ref moved meanwhile or cannot be written (no ref was changed), or git failed.
    """
    started: list[subprocess.Popen[str]] = []
    try:
        for write in writes:
            started.append(_prepare(paths, write))
        refusal = next((stderr for stderr in (_prepared_or_error(p) for p in started) if stderr is not None), None)
        for proc in started:
            _finish(proc, "abort" if refusal is not None else "commit")
        if refusal is not None:
            raise _refused(refusal)
        failed = [proc for proc in started if proc.returncode != 0]
        if failed:
            raise _refused(failed[0].stderr.read() if failed[0].stderr else "")
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()


def _prepare(paths: RepoPaths, write: RefWrite) -> subprocess.Popen[str]:
    """Start a transaction for one ref and send it up to `prepare`; git answers each step on stdout."""
    env = {**os.environ, "GIT_COMMITTER_DATE": f"@{int(write.when)} +0000"}
    proc = subprocess.Popen(
        ["git", "update-ref", "--stdin", "--create-reflog", "-m", write.message],
        cwd=paths.cwd,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError):  # git refused already: it says why on stderr
        proc.stdin.write(f"start\nupdate {write.ref} {write.new} {write.old or _ZERO}\nprepare\n")
        proc.stdin.flush()
    return proc


def _prepared_or_error(proc: subprocess.Popen[str]) -> str | None:
    """None once git said `prepare: ok`, else what it said on stderr (it exits when a step fails)."""
    assert proc.stdout is not None and proc.stderr is not None
    replies = [proc.stdout.readline(), proc.stdout.readline()]
    if replies == ["start: ok\n", "prepare: ok\n"]:
        return None
    proc.wait()
    return proc.stderr.read() or "git update-ref stopped before the transaction was prepared"


def _finish(proc: subprocess.Popen[str], command: str) -> None:
    """Commit or abort a prepared transaction (one that already failed has exited) and wait for git."""
    assert proc.stdin is not None
    if proc.poll() is None:
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.write(f"{command}\n")
            proc.stdin.close()
    proc.wait()


def _refused(stderr: str) -> GitCommandError:
    return GitCommandError(f"refs/kosli/ not updated: {first_line(stderr) or 'git update-ref failed'}")
