"""The one way git kosli runs the git binary.

Used where git itself must answer or act: revision syntax, config with `-c`
honoured, paths from `rev-parse`, and bisect state that the user's git owns.
Arguments are always a list; failures carry git's own stderr.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from git_kosli.errors import GitCommandError, NotARepositoryError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GitResult:
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
    """Run `git ARGS`, capturing its output.

    Raises:
        GitCommandError: when `check` is set and git exits non-zero; the message is git's stderr.
    """
    command = ["git", *args]
    log.debug("running %s", " ".join(command))
    proc = subprocess.run(
        command,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=None if env is None else {**os.environ, **env},
        check=False,
    )
    result = GitResult(proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise GitCommandError(_first_line(proc.stderr) or f"'git {' '.join(args)}' exited {proc.returncode}")
    return result


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line.removeprefix("fatal: ").removeprefix("error: ")
    return ""


@dataclass(frozen=True)
class RepoPaths:
    """Where a repository keeps things, as `git rev-parse` says: correct in worktrees and bare repos."""

    cwd: Path
    git_dir: Path  # per worktree: BISECT_*, refs/bisect
    common_dir: Path  # shared: objects, refs, notes, our store
    toplevel: Path | None  # None in a bare repository
    bare: bool
    shallow: bool

    def git_path(self, name: str) -> Path:
        """`git rev-parse --git-path NAME`: per-worktree names land in the worktree's git dir."""
        out = run_git(["rev-parse", "--git-path", name], cwd=self.cwd).stdout.strip()
        return (self.cwd / out).resolve() if not os.path.isabs(out) else Path(out)


def discover(cwd: str | Path | None = None) -> RepoPaths:
    """Find the repository containing `cwd` (default: the current directory).

    Raises:
        NotARepositoryError: outside any repository, with git's message.
    """
    here = Path(cwd or os.getcwd()).resolve()
    result = run_git(
        ["rev-parse", "--is-bare-repository", "--is-shallow-repository", "--absolute-git-dir", "--git-common-dir"],
        cwd=here,
        check=False,
    )
    if result.returncode != 0:
        raise NotARepositoryError(_first_line(result.stderr) or "not a git repository")
    bare, shallow, git_dir, common = result.stdout.splitlines()[:4]
    common_dir = Path(common) if os.path.isabs(common) else (here / common)
    toplevel = None
    if bare != "true":
        top = run_git(["rev-parse", "--show-toplevel"], cwd=here, check=False).stdout.strip()
        toplevel = Path(top) if top else None
    return RepoPaths(
        cwd=here,
        git_dir=Path(git_dir),
        common_dir=common_dir.resolve(),
        toplevel=toplevel,
        bare=bare == "true",
        shallow=shallow == "true",
    )
