"""Build real git repositories for tests: deterministic dates, so deterministic shas."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from git_kosli.model import CommitSha

EPOCH = 1_790_000_000


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """Run git in `cwd` and return its stdout."""
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def bisect_refs(path: Path) -> dict[str, str]:
    """git's bisect marks: refs/bisect/* -> sha."""
    out = git(path, "for-each-ref", "--format=%(refname) %(objectname)", "refs/bisect/")
    return dict(line.split() for line in out.splitlines())


class GitRepo:
    """A repository in a temporary folder; every commit gets the next tick as its date."""

    def __init__(self, path: Path, *, bare: bool = False) -> None:
        self.path = path
        self.tick = 0
        path.mkdir(parents=True, exist_ok=True)
        git(path, "init", "--quiet", "--initial-branch=main", *(["--bare"] if bare else []))

    def _dated(self, *args: str) -> str:
        self.tick += 1
        date = f"@{EPOCH + self.tick * 60} +0000"
        env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        return subprocess.run(["git", *args], cwd=self.path, capture_output=True, text=True, check=True, env=env).stdout

    def commit(self, name: str, content: str | None = None) -> CommitSha:
        """Write `name.txt` and commit it with the subject `name`."""
        (self.path / f"{name}.txt").write_text(content if content is not None else f"{name}\n")
        git(self.path, "add", f"{name}.txt")
        self._dated("commit", "--quiet", "-m", name)
        return self.head()

    def head(self, rev: str = "HEAD") -> CommitSha:
        """The commit a revision names."""
        return CommitSha(git(self.path, "rev-parse", f"{rev}^{{commit}}").strip())

    def branch(self, name: str, start: str = "HEAD") -> None:
        """Create and switch to a branch."""
        git(self.path, "checkout", "--quiet", "-b", name, start)

    def checkout(self, rev: str) -> None:
        """Switch to a branch or commit."""
        git(self.path, "checkout", "--quiet", rev)

    def merge(self, branch: str, subject: str | None = None) -> CommitSha:
        """Merge a branch with a merge commit."""
        self._dated("merge", "--quiet", "--no-ff", "-m", subject or f"Merge {branch}", branch)
        return self.head()

    def linear(self, count: int, prefix: str = "c") -> list[CommitSha]:
        """`count` commits in a row."""
        return [self.commit(f"{prefix}{i}") for i in range(1, count + 1)]

    def imported(self, count: int) -> list[CommitSha]:
        """`count` commits on main, oldest first, made by one fast-import (thousands of `git commit` take minutes)."""
        stream = []
        for i in range(1, count + 1):
            stream += [
                "commit refs/heads/main",
                f"mark :{i}",
                f"committer T <t@example.com> {EPOCH + i} +0000",
                f"data {len(str(i))}",
                str(i),
                *([f"from :{i - 1}"] if i > 1 else []),
                "M 100644 inline f",
                f"data {len(str(i))}",
                str(i),
                "",
            ]
        subprocess.run(
            ["git", "fast-import", "--quiet"], cwd=self.path, input="\n".join(stream) + "\n", text=True, check=True
        )
        return [CommitSha(sha) for sha in git(self.path, "rev-list", "--reverse", "main").split()]
