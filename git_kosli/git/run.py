"""The one way git kosli runs the git binary.

Used where git itself must answer or act: revision syntax, config with `-c`
honoured, paths from `rev-parse`, and bisect state that the user's git owns.
Arguments are always a list; failures carry git's own stderr. To see every git
command run and its time, set `GIT_TRACE=1`, as for any git command: git traces
each one itself, so there is no logging of our own.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple

from git_kosli.errors import GitCommandError


class GitResult(NamedTuple):
    """What a git command printed and how it exited."""

    returncode: int
    stdout: str
    stderr: str


def run_git(
    args: Sequence[str],
    *,
    cwd: str | Path | None = None,
    stdin: str | None = None,
    check: bool = True,
    env: Mapping[str, str] | None = None,
) -> GitResult:
    """Run `git ARGS`, capturing its output (bytes for git go through `feed_git` or `cat_objects`).

    Raises:
        GitCommandError: when `check` is set and git exits non-zero; the message is git's stderr.
    """
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=None if env is None else {**os.environ, **env},
        check=False,
    )
    if check and proc.returncode != 0:
        raise _failure(args, proc.returncode, proc.stderr)
    return GitResult(proc.returncode, proc.stdout, proc.stderr)


class RunningGit:
    """A git command started in the background, so Python can work while git does (two cores, not one)."""

    def __init__(self, args: Sequence[str], *, cwd: str | Path | None = None) -> None:
        import threading

        self._args = list(args)
        self._proc = subprocess.Popen(
            ["git", *args], cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self._output = ("", "")
        # Read as git writes: a full pipe (64 KiB) would otherwise stop git until wait().
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        self._output = self._proc.communicate()

    def wait(self, *, check: bool = True) -> GitResult:
        """Its output, once it has exited.

        Raises:
            GitCommandError: when `check` is set and git exited non-zero; the message is git's stderr.
        """
        self._reader.join()
        stdout, stderr = self._output
        if check and self._proc.returncode != 0:
            raise _failure(self._args, self._proc.returncode, stderr)
        return GitResult(self._proc.returncode, stdout, stderr)


def stream_git(
    args: Sequence[str], *, cwd: str | Path | None = None, separator: str = "\0", stdin: str | None = None
) -> Iterator[str]:
    """The records git prints (`-z` output), as it prints them: a million of them never sit in memory at once.

    `stdin` is for commands that read all of it before printing anything (`rev-list --stdin`).

    Raises:
        GitCommandError: git exited non-zero; the message is git's stderr.
    """
    with subprocess.Popen(
        ["git", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        if proc.stdin is not None:
            _feed(proc.stdin, [stdin or ""])
        rest = ""
        while chunk := proc.stdout.read(1 << 16):
            records = (rest + chunk).split(separator)
            rest = records.pop()
            yield from records
        stderr = proc.stderr.read()
    if proc.returncode != 0:
        raise _failure(args, proc.returncode, stderr)
    if rest:
        yield rest


def feed_git(args: Sequence[str], chunks: Iterable[bytes], *, cwd: str | Path | None = None) -> GitResult:
    """Run `git ARGS` with its input written as it is made (`fast-import` of a million notes), not held whole.

    For commands that print little until their input ends: their stdout is discarded.
    """
    with subprocess.Popen(
        ["git", *args], cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stdin is not None and proc.stderr is not None
        _feed(proc.stdin, chunks)
        stderr = proc.stderr.read().decode(errors="replace")
    return GitResult(proc.returncode, "", stderr)


def _feed(stdin: IO[Any], chunks: Iterable[Any]) -> None:
    """Write to a git process and close its input; a git that stopped reading says why on stderr."""
    try:
        for chunk in chunks:
            stdin.write(chunk)
    except BrokenPipeError:
        pass
    finally:
        with contextlib.suppress(BrokenPipeError):
            stdin.close()


def cat_objects(names: Sequence[str], *, cwd: str | Path | None = None) -> Iterator[bytes | None]:
    """The contents of objects (ids, or `REV:PATH`), in order, from one `git cat-file --batch`; None when missing.

    A thread writes the names while this one reads, so any number of objects streams through the two pipes.
    """
    import threading

    with subprocess.Popen(
        ["git", "cat-file", "--batch"],
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        writer = threading.Thread(
            target=_feed, args=(proc.stdin, ["".join(f"{n}\n" for n in names).encode()]), daemon=True
        )
        writer.start()
        for _ in names:
            header = proc.stdout.readline().split()  # `OID TYPE SIZE`, or `NAME missing` / `NAME ambiguous`
            yield proc.stdout.read(int(header[2]) + 1)[:-1] if len(header) == 3 else None
        writer.join()


class ObjectTypes:
    """`git cat-file --batch-check`, started on first use and kept running: one process answers every question."""

    def __init__(self, cwd: str | Path) -> None:
        self._cwd = cwd
        self._proc: subprocess.Popen[str] | None = None

    def type_of(self, sha: str) -> str | None:
        """`commit`, `tree`, `blob` or `tag` for an object of this repository, None when it is missing."""
        if len(sha) not in (40, 64) or not _HEX.issuperset(sha.lower()):
            return None  # a full object name only: anything else git would resolve as a revision
        if self._proc is None:
            self._proc = subprocess.Popen(
                ["git", "cat-file", "--batch-check"],
                cwd=self._cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(sha + "\n")
        self._proc.stdin.flush()
        answer = self._proc.stdout.readline().split()  # `SHA TYPE SIZE`, or `NAME missing` / `NAME ambiguous`
        return answer[1] if len(answer) == 3 else None

    def close(self) -> None:
        """Let the process end."""
        if self._proc is not None:
            assert self._proc.stdin is not None and self._proc.stdout is not None
            self._proc.stdin.close()
            self._proc.wait()
            self._proc.stdout.close()


_HEX = frozenset("0123456789abcdef")


def object_name(text: str) -> str:
    """A full object id (40 or 64 hex digits), checked before it reaches git as a revision or on `--stdin`.

    Where git kosli passes commits it read itself, this makes sure nothing else can arrive there
    (no option, no revision syntax): user-typed revisions go through `rev-parse --end-of-options` first.

    Raises:
        GitCommandError: for anything else.
    """
    if len(text) not in (40, 64) or not _HEX.issuperset(text):
        raise GitCommandError(f"'{text[:80]}' is not a full object id")
    return text


def _failure(args: Sequence[str], returncode: int, stderr: str) -> GitCommandError:
    """The error for a git command that failed: git's own first line, else which command and how it exited."""
    return GitCommandError(first_line(stderr) or f"'git {' '.join(args)}' exited {returncode}")


def first_line(text: str) -> str:
    """The first non-blank line of git's stderr, without its `fatal: ` or `error: ` prefix."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line.removeprefix("fatal: ").removeprefix("error: ")
    return ""
