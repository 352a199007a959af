"""A repository: where it keeps things (as `git rev-parse` says), and making one (the demo's)."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import NamedTuple

from git_kosli.errors import NotARepositoryError
from git_kosli.git.run import first_line, run_git


class RepoPaths(NamedTuple):
    """Where a repository keeps things, as `git rev-parse` says: correct in worktrees and bare repos."""

    cwd: Path
    git_dir: Path  # per worktree: BISECT_*, refs/bisect
    common_dir: Path  # shared: objects, refs, notes, our store
    toplevel: Path | None  # None in a bare repository
    bare: bool
    shallow: bool

    def git_path(self, name: str) -> Path:
        """`git rev-parse --git-path NAME`, asked of git: it honours settings such as `core.hooksPath`."""
        out = run_git(["rev-parse", "--git-path", name], cwd=self.cwd).stdout.strip()
        return (self.cwd / out).resolve() if not os.path.isabs(out) else Path(out)

    def worktree_path(self, name: str) -> Path:
        """Where this worktree keeps a state file of its own (`BISECT_START`, `kosli/bisect.json`).

        What `git rev-parse --git-path` answers for any name outside git's short list of shared
        ones (objects, refs, config, hooks, ...), without running git.
        """
        return self.git_dir / name


def discover(cwd: str | Path | None = None) -> RepoPaths:
    """Find the repository containing `cwd` (default: the current directory).

    Raises:
        NotARepositoryError: outside any repository, with git's message.
    """
    here = Path(cwd or os.getcwd()).resolve()
    result = run_git(  # --show-toplevel last: outside a work tree it fails after the others have answered
        [
            "rev-parse",
            "--is-bare-repository",
            "--is-shallow-repository",
            "--absolute-git-dir",
            "--git-common-dir",
            "--show-toplevel",
        ],
        cwd=here,
        check=False,
    )
    answers = result.stdout.splitlines()
    if len(answers) < 4:
        raise NotARepositoryError(first_line(result.stderr) or "not a git repository")
    bare, shallow, git_dir, common = answers[:4]
    common_dir = Path(common) if os.path.isabs(common) else (here / common)
    toplevel = Path(answers[4]) if len(answers) > 4 and bare != "true" else None
    return RepoPaths(
        cwd=here,
        git_dir=Path(git_dir),
        common_dir=common_dir.resolve(),
        toplevel=toplevel,
        bare=bare == "true",
        shallow=shallow == "true",
    )


def create(path: Path, settings: Mapping[str, str]) -> None:
    """`git init` a repository at `path` on branch main, with these config settings."""
    run_git(["init", "--quiet", "--initial-branch=main", "--", str(path)])
    for key, value in settings.items():
        run_git(["config", key, value], cwd=path)


def fast_import(path: Path, stream: str) -> dict[str, str]:
    """Feed a `git fast-import` stream; returns each mark (`:1`) with the object it made."""
    marks = path / ".git" / "fast-import-marks"
    run_git(["fast-import", "--quiet", f"--export-marks={marks}"], cwd=path, stdin=stream)
    made = dict(line.split() for line in marks.read_text().splitlines())
    marks.unlink()
    return made


def work_beyond(path: Path, commits: Collection[str]) -> str | None:
    """What the repository at `path` holds that is not these commits, checked out clean; None when nothing.

    Local changes, untracked files, or a branch, tag, stash, remote branch or HEAD on any other commit.
    """
    status = run_git(["status", "--porcelain", "--untracked-files=all"], cwd=path, check=False)
    if status.returncode != 0:
        return "is not a repository git kosli can read"
    if status.stdout.strip():
        return "has local changes or untracked files"
    refs = run_git(
        ["for-each-ref", "--format=%(objectname)", "refs/heads/", "refs/tags/", "refs/remotes/", "refs/stash"],
        cwd=path,
        check=False,
    )
    head = commit_or_none(path, "HEAD")
    if refs.returncode != 0 or any(sha not in commits for sha in [*refs.stdout.split(), *filter(None, [head])]):
        return "has commits that are not the demo's"
    return None


def checkout(path: Path, revision: str) -> None:
    """Check out a branch or commit, discarding what is in the way (a freshly made repository)."""
    run_git(["checkout", "--quiet", "--force", revision, "--"], cwd=path)  # git 2.39 checkout has no --end-of-options


def commit_or_none(path: Path, revision: str) -> str | None:
    """The commit a revision names in the repository at `path`, or None."""
    asked = run_git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"], cwd=path, check=False
    )
    return asked.stdout.strip() or None


def message(path: Path, commit: str) -> str:
    """A commit's whole message."""
    return run_git(["log", "-1", "--format=%B", "--end-of-options", commit, "--"], cwd=path).stdout
