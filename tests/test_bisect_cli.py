"""`git kosli bisect OLD NEW` on real repositories and the embedded store."""

from __future__ import annotations

import json
from pathlib import Path

from tests.factory import artifact, history, seed
from tests.gitrepo import GitRepo, git


def bisect_refs(path: Path) -> dict[str, str]:
    out = git(path, "for-each-ref", "--format=%(refname) %(objectname)", "refs/bisect/")
    return dict(line.split() for line in out.splitlines())


def test_starts_git_bisect_between_the_commits_of_two_snapshots(repo: GitRepo, run_cli) -> None:
    commits = repo.linear(6)
    seed(repo.path, *history("aws-beta", [[artifact(commits[1])], [artifact(commits[5])]]))

    result = run_cli("bisect", "aws-beta#1", "aws-beta#2", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    refs = bisect_refs(repo.path)
    assert refs["refs/bisect/bad"] == commits[5]
    assert refs[f"refs/bisect/good-{commits[1]}"] == commits[1]
    assert "4 candidate commits, roughly 2 steps" in result.stdout
    assert "Bisecting:" in result.stdout
    candidates = git(repo.path, "rev-list", f"{commits[1]}..{commits[5]}").split()
    for sha in candidates:
        assert sha[:7] in result.stdout
