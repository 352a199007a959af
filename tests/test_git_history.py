"""GitHistory answers as git does, with and without a commit-graph file."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest

from git_kosli.git.history import GitHistory
from git_kosli.git.repository import discover
from git_kosli.model import CommitSha, Divergence
from tests.gitrepo import GitRepo, containing_by_git, git, graph_rows_as_git_says


def build_merges(repo: GitRepo) -> list[CommitSha]:
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
            is_ancestor = (
                subprocess.run(["git", "merge-base", "--is-ancestor", old, new], cwd=repo.path).returncode == 0
            )
            assert history.is_ancestor(ancestor=old, descendant=new) is is_ancestor


@pytest.mark.parametrize("graph", [False, True])
def test_divergences_of_many_pairs_at_once_count_as_git_does(repo: GitRepo, graph: bool) -> None:
    shas = build_merges(repo)
    if graph:  # counted by walking the commit-graph; without one, by several batches of git processes
        git(repo.path, "commit-graph", "write", "--reachable")
    pairs = [*itertools.permutations(shas[1::2], 2), *itertools.permutations(shas[::3], 2), (shas[3], shas[3])]
    with GitHistory(discover(repo.path)) as history:
        counts = history.divergences([*pairs, *pairs[:3]])  # asked twice, counted once
    assert len(counts) == len(set(pairs))
    for old, new in pairs:
        only_old, only_new = git(repo.path, "rev-list", "--count", "--left-right", f"{old}...{new}").split()
        assert counts[(old, new)] == Divergence(old_only=int(only_old), new_only=int(only_new))


def test_divergences_far_apart_are_counted_by_git_and_near_ones_by_the_walk(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commits = repo.imported(5_000)
    git(repo.path, "commit-graph", "write", "--reachable")
    far, near = (commits[0], commits[-1]), (commits[-300], commits[-1])
    trace = tmp_path / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    with GitHistory(discover(repo.path)) as history:
        counts = history.divergences([far, near, near[::-1]])
    assert counts == {
        far: Divergence(old_only=0, new_only=4_999),
        near: Divergence(old_only=0, new_only=299),
        near[::-1]: Divergence(old_only=299, new_only=0),
    }
    assert trace.read_text().count("rev-list --count --left-right") == 1  # the far pair only


def test_divergences_on_long_lived_branches_go_to_git_once_each_as_git_counts(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mainline = repo.long_lived_merges(1_500, every=5, forked_back=600)
    git(repo.path, "commit-graph", "write", "--reachable")
    deploys = mainline[700::40]
    pairs = [*itertools.pairwise(deploys), (deploys[-1], deploys[0])]
    trace = tmp_path / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    with GitHistory(discover(repo.path)) as history:
        counts = history.divergences(pairs)
    monkeypatch.delenv("GIT_TRACE")
    for old, new in pairs:
        only_old, only_new = git(repo.path, "rev-list", "--count", "--left-right", f"{old}...{new}").split()
        assert counts[(old, new)] == Divergence(old_only=int(only_old), new_only=int(only_new))
        assert int(only_new) > 40 or new == deploys[0]  # a deploy brings its mainline commits and their topics
    asked = [line for line in trace.read_text().splitlines() if "rev-list --count --left-right" in line]
    assert len(asked) == len(pairs)  # every pair counted by git, each once: walking would paint 600 generations down
    assert {line.split(" ")[-2] for line in asked} == {f"{old}...{new}" for old, new in pairs}


def test_divergences_on_short_branches_are_all_walked_as_git_counts(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mainline = repo.long_lived_merges(1_500, every=5, forked_back=2)
    git(repo.path, "commit-graph", "write", "--reachable")
    deploys = mainline[::40]
    pairs = [*itertools.pairwise(deploys), (deploys[-1], deploys[-3])]
    trace = tmp_path / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    with GitHistory(discover(repo.path)) as history:
        counts = history.divergences(pairs)
    monkeypatch.delenv("GIT_TRACE")
    assert "rev-list" not in trace.read_text()  # each walk stays near its ends: git would only cost its start
    for old, new in pairs:
        only_old, only_new = git(repo.path, "rev-list", "--count", "--left-right", f"{old}...{new}").split()
        assert counts[(old, new)] == Divergence(old_only=int(only_old), new_only=int(only_new))


def test_exclusive_lists_children_before_parents(repo: GitRepo) -> None:
    shas = build_merges(repo)
    with GitHistory(discover(repo.path)) as history:
        listed = history.exclusive(include=[shas[-1]], exclude=[])
        position: dict[str, int] = {sha: i for i, sha in enumerate(listed)}
        for sha in listed:
            for parent in history.parents(sha):
                assert position[sha] < position[parent]


@pytest.mark.parametrize("graph", [False, True])
def test_ancestry_streams_what_the_tips_contain_children_first(repo: GitRepo, graph: bool) -> None:
    shas = build_merges(repo)
    if graph:
        git(repo.path, "commit-graph", "write", "--reachable")
    tips = [shas[2], shas[7]]  # t2, and the back-merge on topic: together they contain neither m3 nor m4
    with GitHistory(discover(repo.path)) as history:
        listed = list(history.ancestry(tips))
        assert list(history.ancestry([])) == []
    assert sorted(sha for sha, _ in listed) == sorted(git(repo.path, "rev-list", *tips).split())
    position: dict[str, int] = {sha: i for i, (sha, _) in enumerate(listed)}
    for sha, parents in listed:
        assert list(parents) == git(repo.path, "rev-parse", f"{sha}^@").split()
        assert all(position[sha] < position[parent] for parent in parents)


def test_lookups_that_find_nothing(repo: GitRepo) -> None:
    repo.commit("one")
    with GitHistory(discover(repo.path)) as history:
        assert history.resolve_or_none("no-such-branch") is None
        assert history.resolve_or_none("HEAD") == repo.head()
        assert history.has_commit("1" * 40) is False
        assert history.has_commit(repo.head()) is True
        # only full object names: revisions, abbreviations and trees are not "a commit here"
        for name in ("HEAD", repo.head()[:7], "main", "", git(repo.path, "rev-parse", "HEAD^{tree}").strip()):
            assert history.has_commit(name) is False, name


def test_the_commit_graph_reader_agrees_with_git(repo: GitRepo) -> None:
    from git_kosli.git.commit_graph import open_commit_graph

    shas = build_merges(repo)
    repo.branch("octopus-a", shas[0])
    a = repo.commit("oa")
    repo.branch("octopus-b", shas[0])
    b = repo.commit("ob")
    repo.checkout("main")
    git(repo.path, "merge", "--quiet", "--no-ff", "-m", "octopus", "octopus-a", "octopus-b")
    git(repo.path, "commit-graph", "write", "--reachable")
    graph = open_commit_graph(repo.path / ".git" / "objects")
    assert graph is not None
    try:
        assert graph_rows_as_git_says(repo.path, graph) == len(shas) + 3
        assert len(graph.entry(repo.head())[0]) == 3  # type: ignore[index]  # the octopus reads its extra edges
        assert graph.entry("1" * 40) is None
        assert {a, b} <= set(graph.entry(repo.head())[0])  # type: ignore[index]
    finally:
        graph.close()


@pytest.mark.parametrize("graph", ["none", "all", "older commits only"])
def test_containing_answers_as_merge_base_is_ancestor(repo: GitRepo, graph: str) -> None:
    shas = build_merges(repo)
    if graph == "all":
        git(repo.path, "commit-graph", "write", "--reachable")
    if graph == "older commits only":  # commits made after git last wrote the graph are read from their objects
        git(repo.path, "commit-graph", "write", "--reachable")
        repo.checkout("topic")
        shas += [repo.commit("t5")]
        repo.checkout("main")
        shas += [repo.merge("topic", "late merge"), repo.commit("m5")]
    with GitHistory(discover(repo.path)) as history:
        for target in shas:
            assert history.containing(target, shas) == containing_by_git(repo.path, target, shas)


def test_streaming_git_output_splits_records_and_reports_failure(repo: GitRepo) -> None:
    from git_kosli.errors import GitCommandError
    from git_kosli.git.run import stream_git

    repo.linear(3)
    records = list(stream_git(["log", "-z", f"--format=%H{'x' * 100_000}", "HEAD"], cwd=repo.path))
    assert [r[:40] for r in records] == git(repo.path, "rev-list", "HEAD").split()  # across 64 KiB reads
    assert all(r.endswith("x" * 100_000) for r in records)
    assert (
        list(stream_git(["rev-list", "HEAD"], cwd=repo.path, separator="\n"))
        == git(repo.path, "rev-list", "HEAD").splitlines()
    )
    with pytest.raises(GitCommandError, match="no-such-rev"):
        list(stream_git(["rev-list", "no-such-rev"], cwd=repo.path))
