"""Build real git repositories for tests: deterministic dates, so deterministic shas."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from git_kosli.git.commit_graph import CommitGraph
from git_kosli.model import CommitSha

EPOCH = 1_790_000_000


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """Run git in `cwd` and return its stdout."""
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def containing_by_git(path: Path, target: str, tips: list[CommitSha]) -> set[CommitSha]:
    """The tips that contain `target`, as `git merge-base --is-ancestor` says (exact, whatever the dates)."""
    return {
        tip
        for tip in tips
        if subprocess.run(["git", "merge-base", "--is-ancestor", target, tip], cwd=path).returncode == 0
    }


def graph_rows_as_git_says(path: Path, graph: CommitGraph) -> int:
    """Check every commit's row in a commit-graph against git's parents and dates; returns how many were checked."""
    checked = 0
    for line in git(path, "rev-list", "--all", "--parents", "--format=%ct").splitlines():
        if line.startswith("commit "):
            sha, *parents = line.split()[1:]
            continue
        entry = graph.entry(sha)
        assert entry is not None, sha
        assert (entry[0], entry[2]) == (parents, int(line))
        assert all(entry[1] > graph.entry(parent)[1] for parent in parents)  # type: ignore[index]  # generations
        checked += 1
    return checked


def bisect_refs(path: Path) -> dict[str, str]:
    """git's bisect marks: refs/bisect/* -> sha."""
    out = git(path, "for-each-ref", "--format=%(refname) %(objectname)", "refs/bisect/")
    return dict(line.split() for line in out.splitlines())


class GitRepo:
    """A repository in a temporary folder; every commit gets the next tick as its date."""

    def __init__(self, path: Path, *, bare: bool = False, object_format: str = "sha1") -> None:
        self.path = path
        self.tick = 0
        path.mkdir(parents=True, exist_ok=True)
        git(
            path,
            "init",
            "--quiet",
            "--initial-branch=main",
            f"--object-format={object_format}",
            *(["--bare"] if bare else []),
        )

    def _dated(self, *args: str, shift: int = 0) -> str:
        self.tick += 1
        date = f"@{EPOCH + self.tick * 60 + shift} +0000"
        env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        return subprocess.run(["git", *args], cwd=self.path, capture_output=True, text=True, check=True, env=env).stdout

    def commit(self, name: str, content: str | None = None, *, shift: int = 0) -> CommitSha:
        """Write `name.txt` and commit it with the subject `name`; `shift` seconds moves its date (a wrong clock)."""
        (self.path / f"{name}.txt").write_text(content if content is not None else f"{name}\n")
        git(self.path, "add", f"{name}.txt")
        self._dated("commit", "--quiet", "-m", name, shift=shift)
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

    def merge(self, branch: str, subject: str | None = None, *, shift: int = 0) -> CommitSha:
        """Merge a branch with a merge commit; `shift` seconds moves its date."""
        self._dated("merge", "--quiet", "--no-ff", "-m", subject or f"Merge {branch}", branch, shift=shift)
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
        self._fast_import(stream)
        return [CommitSha(sha) for sha in git(self.path, "rev-list", "--reverse", "main").split()]

    def long_lived_merges(self, count: int, *, every: int, forked_back: int) -> list[CommitSha]:
        """`count` mainline commits, every `every`th merging a topic of 2 commits forked `forked_back` commits earlier.

        The shape of a real project's history (git.git's topics fork from old releases): to count the
        commits between two nearby mainline commits, a walk must paint each topic down to its fork.
        Returns the mainline, oldest first.
        """
        stream: list[str] = []
        mark = 0
        mainline: list[int] = []

        def commit(ref: str, parents: list[int]) -> int:
            nonlocal mark
            mark += 1
            stream.extend(
                [f"commit {ref}", f"mark :{mark}", f"committer T <t@example.com> {EPOCH + mark} +0000", "data 0"]
            )
            stream.extend([f"from :{parents[0]}", *(f"merge :{p}" for p in parents[1:])] if parents else [])
            stream.extend(["M 100644 inline f", f"data {len(str(mark))}", str(mark), ""])
            return mark

        for i in range(count):
            parents = mainline[-1:]
            if i % every == 0 and len(mainline) > forked_back:
                topic = commit("refs/heads/topic", [mainline[-forked_back]])
                parents.append(commit("refs/heads/topic", [topic]))
            mainline.append(commit("refs/heads/main", parents))
        self._fast_import(stream)
        return [CommitSha(sha) for sha in git(self.path, "rev-list", "--first-parent", "--reverse", "main").split()]

    def _fast_import(self, stream: list[str]) -> None:
        subprocess.run(
            ["git", "fast-import", "--quiet"], cwd=self.path, input="\n".join(stream) + "\n", text=True, check=True
        )
