"""A SHA-256 repository (`git init --object-format=sha256`) works as a SHA-1 one: commit ids of 64 hex digits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from git_kosli.git.history import GitHistory
from git_kosli.git.repository import discover
from tests.conftest import RunCli
from tests.factory import artifact, history, seed
from tests.gitrepo import GitRepo, bisect_refs, containing_by_git, git

URL = "https://github.com/acme/web"


@pytest.mark.parametrize("graph", [False, True])
def test_where_bisect_and_notes_in_a_sha256_repository(tmp_path: Path, run_cli: RunCli, graph: bool) -> None:
    repo = GitRepo(tmp_path / "repo", object_format="sha256")
    commits = repo.linear(6)
    assert all(len(sha) == 64 for sha in commits)
    if graph:
        git(repo.path, "commit-graph", "write", "--reachable")
    seed(repo.path, *history("aws-beta", [[artifact(commits[1], url=URL)], [artifact(commits[5], url=URL)]]))

    where = run_cli("where", commits[3][:12], "--json", cwd=repo.path)
    bisect = run_cli("bisect", "aws-beta#1", "aws-beta#2", cwd=repo.path)
    marks = bisect_refs(repo.path)
    git(repo.path, "bisect", "reset")
    notes = run_cli("notes", cwd=repo.path)
    again = run_cli("notes", cwd=repo.path)

    assert where.exit_code == 0, where.stderr
    found = json.loads(where.stdout)
    assert found["git_commit"] == commits[3]
    assert [(e["environment"], e["status"]) for e in found["environments"]] == [("aws-beta", "contained")]
    assert bisect.exit_code == 0, bisect.stderr
    assert "4 candidate commits" in bisect.stdout
    assert marks["refs/bisect/bad"] == commits[5]
    assert marks[f"refs/bisect/good-{commits[1]}"] == commits[1]
    assert notes.exit_code == again.exit_code == 0, notes.stderr + again.stderr
    assert again.stdout.startswith("up to date:"), "a note git wrote is recognised: the same text, the same blob id"
    assert git(repo.path, "notes", "--ref=kosli", "show", commits[5]).startswith("aws-beta#2 ")
    assert git(repo.path, "notes", "--ref=kosli", "show", commits[3]) == (
        f"no artifact; first build {commits[5]} (registry.example/web:{commits[5][:7]})\n"
    )
    with GitHistory(discover(repo.path)) as walked:
        assert walked.uses_commit_graph is graph
        for target in commits:
            assert walked.containing(target, commits) == containing_by_git(repo.path, target, commits)
