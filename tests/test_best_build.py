"""`--built-first`'s choice checked exactly against git's best-bisection rule.

git scores a candidate by min(ancestors, others): its ancestors among the candidates (itself
included) against the rest (`git rev-list --bisect-all` prints it as `dist=N`). `best_built`
must score every commit as git does and pick, among the built ones, one with git's best score.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence

import pytest

from git_kosli.bisect.built_first import best_built
from tests.gitrepo import GitRepo, git


def scorer(parents: Mapping[str, Sequence[str]]):  # type: ignore[no-untyped-def]
    return lambda sha: parents.get(sha, ())


#   H        children first: H G F E D C B A, bad = H
#   |
#   G
#   |\
#   F E
#   | |
#   D C
#   |/
#   B
#   |
#   A
DAG = {"H": ["G"], "G": ["F", "E"], "F": ["D"], "E": ["C"], "D": ["B"], "C": ["B"], "B": ["A"], "A": []}
ORDER = ["H", "G", "F", "E", "D", "C", "B", "A"]


@pytest.mark.parametrize(
    ("built", "expected", "below"),
    [
        (set(ORDER), "F", 4),  # F has F D B A below it: 4 of 8, the only perfect half
        ({"H", "B", "G"}, "B", 2),  # min(2, 6) beats G's min(7, 1); H is bad and never proposed
        ({"E", "C"}, "E", 4),  # E C B A: 4 of 8; C has 3
        ({"C", "D"}, "D", 3),  # both 3 of 8: the first in git's order wins the tie
        ({"H"}, None, 0),
    ],
)
def test_hand_built_dag_gives_the_exact_commit(built: set[str], expected: str | None, below: int) -> None:
    choice = best_built(ORDER, scorer(DAG), built, bad="H")
    if expected is None:
        assert choice is None
        return
    assert choice is not None
    assert (choice.commit, choice.remaining) == (expected, len(ORDER))
    assert choice.below == below


def test_parents_outside_the_remaining_commits_count_for_nothing() -> None:
    remaining = ["D", "C"]  # A and B were marked good: outside
    choice = best_built(remaining, scorer(DAG), {"C"}, bad="D")
    assert choice is not None and (choice.commit, choice.below, choice.remaining) == ("C", 1, 2)


@pytest.fixture
def merged(repo: GitRepo) -> list[str]:
    """A history of merged branches, some commits dated before their parents; returns (bad: main, good: root)."""
    rng = random.Random(7)
    repo.commit("root")
    for n in range(8):
        repo.branch(f"topic{n}")
        for i in range(rng.randint(1, 4)):
            if rng.random() < 0.3:
                repo.tick -= 120  # two hours before its parent
            repo.commit(f"t{n}-{i}")
        repo.checkout("main")
        for i in range(rng.randint(0, 3)):
            repo.commit(f"m{n}-{i}")
        repo.merge(f"topic{n}")
    return [git(repo.path, "rev-parse", "main").strip(), git(repo.path, "rev-list", "--max-parents=0", "main").strip()]


def git_scores(repo: GitRepo, bad: str, good: str) -> dict[str, int]:
    out = git(repo.path, "rev-list", "--bisect-all", bad, f"^{good}")
    return {line.split()[0]: int(re.search(r"dist=(\d+)", line).group(1)) for line in out.splitlines()}  # type: ignore[union-attr]


def test_every_commit_is_scored_as_git_scores_it(merged: list[str], repo: GitRepo) -> None:
    bad, good = merged[0], merged[-1]
    remaining = git(repo.path, "rev-list", bad, f"^{good}").split()
    parents = {
        sha: rest for sha, *rest in (line.split() for line in git(repo.path, "rev-list", "--parents", bad).splitlines())
    }
    scores = git_scores(repo, bad, good)
    assert set(scores) == set(remaining) and len(remaining) > 20
    for sha in remaining:
        if sha == bad:
            continue
        choice = best_built(remaining, scorer(parents), {sha}, bad=bad)
        assert choice is not None
        assert min(choice.below, choice.remaining - choice.below) == scores[sha], sha


def test_the_choice_among_builds_is_one_git_scores_best(merged: list[str], repo: GitRepo) -> None:
    bad, good = merged[0], merged[-1]
    remaining = git(repo.path, "rev-list", bad, f"^{good}").split()
    parents = {
        sha: rest for sha, *rest in (line.split() for line in git(repo.path, "rev-list", "--parents", bad).splitlines())
    }
    scores = git_scores(repo, bad, good)
    rng = random.Random(11)
    for _ in range(30):
        built = set(rng.sample(remaining, rng.randint(1, 6)))
        choice = best_built(remaining, scorer(parents), built, bad=bad)
        testable = built - {bad}
        if not testable:
            assert choice is None
            continue
        assert choice is not None and choice.commit in testable
        assert scores[choice.commit] == max(scores[sha] for sha in testable), (built, choice)
        first_best = next(sha for sha in remaining if sha in testable and scores[sha] == scores[choice.commit])
        assert choice.commit == first_best  # ties: the first in git's order, so the choice is reproducible
