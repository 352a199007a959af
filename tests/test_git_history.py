"""GitHistory answers as git does, with and without a commit-graph file."""

from __future__ import annotations

import itertools
import subprocess

import pytest

from git_kosli.git_history import GitHistory
from git_kosli.gitcmd import discover
from tests.gitrepo import GitRepo, git


def build_merges(repo: GitRepo) -> list[str]:
    """Two branches merged twice, and a criss-cross."""
    shas = [repo.commit("base")]
    repo.branch("topic")
    shas += [repo.commit("t1"), repo.commit("t2")]
    repo.checkout("main")
    shas += [repo.commit("m1"), repo.merge("topic"), repo.commit("m2")]
    repo.checkout("topic")
    shas += [repo.commit("t3"), repo.merge("main", "back-merge"), repo.commit("t4")]
    repo.checkout("main")
    shas += [repo.commit("m3"), repo.merge("topic"), repo.commit("m4")]
    return shas


@pytest.mark.parametrize("graph", [False, True])
def test_exclusive_and_ancestry_match_git(repo: GitRepo, graph: bool) -> None:
    shas = build_merges(repo)
    if graph:
        git(repo.path, "commit-graph", "write", "--reachable")
    with GitHistory(discover(repo.path)) as history:
        assert history.uses_commit_graph is graph
        for old, new in itertools.permutations(shas, 2):
            expected = git(repo.path, "rev-list", new, f"^{old}").split()
            assert sorted(history.exclusive(include=[new], exclude=[old])) == sorted(expected)
            first_parent = git(repo.path, "rev-list", "--first-parent", new, f"^{old}").split()
            assert history.exclusive(include=[new], exclude=[old], first_parent=True) == first_parent
            is_ancestor = subprocess.run(["git", "merge-base", "--is-ancestor", old, new], cwd=repo.path).returncode == 0
            assert history.is_ancestor(ancestor=old, descendant=new) is is_ancestor


def test_exclusive_lists_children_before_parents(repo: GitRepo) -> None:
    shas = build_merges(repo)
    with GitHistory(discover(repo.path)) as history:
        listed = history.exclusive(include=[shas[-1]], exclude=[])
        position = {sha: i for i, sha in enumerate(listed)}
        for sha in listed:
            for parent in history.parents(sha):
                assert position[sha] < position[parent]


def test_lookups_that_find_nothing(repo: GitRepo) -> None:
    repo.commit("one")
    with GitHistory(discover(repo.path)) as history:
        assert history.resolve_or_none("no-such-branch") is None
        assert history.resolve_or_none("HEAD") == repo.head()
        assert history.has_commit("1" * 40) is False
        assert history.has_commit(repo.head()) is True
