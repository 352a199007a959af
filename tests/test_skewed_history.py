"""Ancestry is git's whatever the commit dates say, and a split commit-graph reads as one file.

Children here are dated days, even weeks, before their parents (wrong clocks, imports, rebases):
every answer is checked against git's exact ones (`merge-base --is-ancestor`, and `rev-list` of
single tips, which walk to the roots), with no commit-graph, a single file, and a split chain,
each with and without commits newer than the graph.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from git_kosli.git.commit_graph import open_commit_graph
from git_kosli.git.history import GitHistory
from git_kosli.git.repository import discover
from git_kosli.model import CommitSha, Divergence
from tests.gitrepo import GitRepo, containing_by_git, git, graph_rows_as_git_says

DAY = 86_400
GRAPHS = ["none", "single", "single, newer commits", "split", "split, newer commits"]


def write_graph(repo: GitRepo, graph: str, phase: int) -> None:
    """Write the commit-graph as `graph` says at the end of each phase of `skewed`."""
    if graph.startswith("split") and (phase < 3 or graph == "split"):
        git(repo.path, "commit-graph", "write", "--reachable", "--split" if phase == 1 else "--split=no-merge")
    if (graph, phase) in (("single", 3), ("single, newer commits", 2)):
        git(repo.path, "commit-graph", "write", "--reachable")


def skewed(repo: GitRepo, graph: str) -> list[CommitSha]:
    """Two branches merged both ways, where many children are dated before their parents."""
    shas = [repo.commit("base"), repo.commit("a1"), repo.commit("a2", shift=-5 * DAY), repo.commit("a3")]
    repo.branch("side", shas[1])
    shas += [repo.commit("s1", shift=-10 * DAY), repo.commit("s2")]
    write_graph(repo, graph, 1)
    repo.checkout("main")
    shas += [repo.merge("side", shift=-3 * DAY), repo.commit("m1", shift=-20 * DAY), repo.commit("m2")]
    write_graph(repo, graph, 2)
    repo.checkout("side")
    shas += [repo.commit("s3", shift=-30 * DAY), repo.merge("main", "back-merge"), repo.commit("s4", shift=-2 * DAY)]
    repo.checkout("main")
    shas += [repo.merge("side", shift=-40 * DAY), repo.commit("m3"), repo.commit("m4", shift=-60 * DAY)]
    write_graph(repo, graph, 3)
    return shas


def ancestors(repo: GitRepo, sha: str, *, first_parent: bool = False) -> list[str]:
    """Every commit `sha` contains, as git lists it from one tip (no exclusion: exact whatever the dates)."""
    return git(repo.path, "rev-list", *(["--first-parent"] if first_parent else []), sha).split()


@pytest.mark.parametrize("graph", GRAPHS)
def test_containing_is_git_ancestry_not_dates(repo: GitRepo, graph: str) -> None:
    shas = skewed(repo, graph)
    with GitHistory(discover(repo.path)) as history:
        assert history.uses_commit_graph is (graph != "none")
        for target in shas:
            assert history.containing(target, shas) == containing_by_git(repo.path, target, shas)


@pytest.mark.parametrize("graph", GRAPHS)
def test_exclusive_and_divergences_are_exact_whatever_the_dates(repo: GitRepo, graph: str) -> None:
    shas = skewed(repo, graph)
    reach = {sha: ancestors(repo, sha) for sha in shas}
    with GitHistory(discover(repo.path)) as history:
        counts = history.divergences(list(itertools.permutations(shas, 2)))
        for old, new in itertools.permutations(shas, 2):
            only_new = set(reach[new]) - set(reach[old])
            assert sorted(history.exclusive(include=[new], exclude=[old])) == sorted(only_new)
            first_parent = [sha for sha in ancestors(repo, new, first_parent=True) if sha not in reach[old]]
            assert history.exclusive(include=[new], exclude=[old], first_parent=True) == first_parent
            assert counts[(old, new)] == Divergence(
                old_only=len(set(reach[old]) - set(reach[new])), new_only=len(only_new)
            )


def test_a_split_chain_reads_as_one_file(repo: GitRepo) -> None:
    shas = skewed(repo, "split")
    info = repo.path / ".git" / "objects" / "info"
    assert not (info / "commit-graph").exists()
    assert len((info / "commit-graphs" / "commit-graph-chain").read_text().split()) == 3
    graph = open_commit_graph(info.parent)
    assert graph is not None
    try:
        assert (graph.layers, graph.count) == (3, len(shas))
        assert graph_rows_as_git_says(repo.path, graph) == len(shas)  # parents found in lower layers too
    finally:
        graph.close()


def test_a_chain_missing_its_top_layer_is_read_as_far_as_it_goes(repo: GitRepo) -> None:
    shas = skewed(repo, "split")
    folder = repo.path / ".git" / "objects" / "info" / "commit-graphs"
    top = (folder / "commit-graph-chain").read_text().split()[-1]
    Path(folder / f"graph-{top}.graph").unlink()
    with GitHistory(discover(repo.path)) as history:
        assert history.uses_commit_graph
        for target in shas:
            assert history.containing(target, shas) == containing_by_git(repo.path, target, shas)
    graph = open_commit_graph(folder.parent.parent)
    assert graph is not None and graph.layers == 2
    graph.close()


def test_a_chain_whose_layers_do_not_match_is_not_used(repo: GitRepo) -> None:
    skewed(repo, "split")
    chain = repo.path / ".git" / "objects" / "info" / "commit-graphs" / "commit-graph-chain"
    names = chain.read_text().split()
    chain.write_text("\n".join(reversed(names)) + "\n")  # the top layer named first: it says it sits on others
    assert open_commit_graph(chain.parent.parent) is None
