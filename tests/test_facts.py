"""Episodes and the one rule for first builds, on hand-built histories and DAGs (pure: no git)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence

import pytest

from git_kosli.facts import Build, builds, commit_facts, episodes_by_commit, first_build_of, first_builds
from git_kosli.model import Artifact, CommitSha, FlowArtifact, Provenance
from tests.factory import artifact, fingerprint, history

A, B, C, D, E, F, G = (CommitSha(ch * 40) for ch in "abcdefg")


def entry_of(art: Artifact) -> Provenance | None:
    return art.provenance[0] if art.provenance else None


def commit_of(art: Artifact) -> CommitSha | None:
    return art.provenance[0].git_commit if art.provenance else None


def build(commit: CommitSha, created: float, *, deployed: bool = True) -> Build:
    return Build(commit, f"web:{commit[:7]}", "f" * 64, "web-ci", f"web:{commit[:7]}", created, deployed)


def topo(parents: Mapping[CommitSha, Sequence[CommitSha]]) -> list[tuple[CommitSha, Sequence[CommitSha]]]:
    """Children before parents, as `git rev-list --topo-order` lists them."""
    done: list[CommitSha] = []

    def visit(sha: CommitSha) -> None:
        if sha in done:
            return
        for child in (c for c, ps in parents.items() if sha in ps):
            visit(child)
        done.append(sha)

    for sha in parents:
        visit(sha)
    return [(sha, parents[sha]) for sha in done]


def descendants(parents: Mapping[CommitSha, Sequence[CommitSha]], sha: CommitSha) -> dict[CommitSha, int]:
    """Every commit that contains `sha` (itself included), with the fewest parent links down to it."""
    found = {sha: 0}
    changed = True
    while changed:
        changed = False
        for child, ps in parents.items():
            for p in ps:
                if p in found and found.get(child, 1 << 30) > found[p] + 1:
                    found[child] = found[p] + 1
                    changed = True
    return found


def expected_first(parents: Mapping[CommitSha, Sequence[CommitSha]], built: Mapping[CommitSha, Build], sha: CommitSha):  # type: ignore[no-untyped-def]
    """The rule as the README says it: earliest created containing build; ties the nearest, then the lowest sha."""
    if sha in built:
        return built[sha]
    near = descendants(parents, sha)
    inside = [(built[c].created_at, near[c], c) for c in near if c in built]
    return built[min(inside)[2]] if inside else None


#      G
#     / \
#    E   F        E, F: two branches that both contain C; G merges them
#    |   |
#    D   |
#     \ /
#      C
#      |
#      B
#      |
#      A
DAG = {G: [E, F], E: [D], F: [C], D: [C], C: [B], B: [A], A: []}


def test_the_earliest_created_build_wins_even_on_another_branch() -> None:
    built = {G: build(G, 50), E: build(E, 40), F: build(F, 10, deployed=False)}
    first = dict(first_builds(topo(DAG), built))
    assert first[C] == built[F]  # F, never deployed, was built before E and G: it is C's first build
    assert first[D] == built[E]  # F does not contain D
    assert first[A] == built[F]
    assert first[E] == built[E]  # a built commit is its own build


def test_a_late_rebuild_of_a_commit_does_not_hide_the_earlier_builds_containing_its_parents() -> None:
    built = {C: build(C, 99), F: build(F, 10)}  # C was built long after F, which contains it
    first = dict(first_builds(topo(DAG), built))
    assert first[C] == built[C]
    assert first[B] == built[F]  # through C, whose own build is later


def test_ties_go_to_the_nearest_build() -> None:
    built = {G: build(G, 10), E: build(E, 10), F: build(F, 10)}
    first = dict(first_builds(topo(DAG), built))
    assert first[D] == built[E]  # E is one link above D; G two
    assert first[C] == built[F]  # F is one link above C; E two


def test_the_streamed_rule_and_the_one_for_a_single_commit_agree_with_the_definition() -> None:
    for chosen in itertools.combinations(DAG, 3):
        for times in itertools.product((1.0, 2.0), repeat=3):
            built = {sha: build(sha, t) for sha, t in zip(chosen, times, strict=True)}
            streamed = dict(first_builds(topo(DAG), built))
            for sha in DAG:
                want = expected_first(DAG, built, sha)
                assert streamed[sha] == want, (chosen, times, sha)
                containers = set(descendants(DAG, sha)) & set(built)
                assert first_build_of(sha, containers, built, between(sha)) == want, (chosen, times, sha)


def between(sha: CommitSha) -> Callable[[Sequence[CommitSha]], Iterator[tuple[CommitSha, Sequence[str]]]]:
    """`git rev-list --topo-order --parents TIPS ^SHA^@`, on the hand-built DAG."""

    def listing(tips: Sequence[CommitSha]) -> Iterator[tuple[CommitSha, Sequence[str]]]:
        below = set().union(*(_ancestors(DAG, p) for p in DAG[sha]))
        wanted = set().union(*(_ancestors(DAG, t) for t in tips)) - below
        return iter([(c, ps) for c, ps in topo(DAG) if c in wanted])

    return listing


def _ancestors(parents: Mapping[CommitSha, Sequence[CommitSha]], sha: CommitSha) -> set[CommitSha]:
    found, todo = set(), [sha]
    while todo:
        now = todo.pop()
        if now not in found:
            found.add(now)
            todo += parents[now]
    return found


def test_builds_merge_what_flows_listed_with_what_ran() -> None:
    ran = artifact(B, "web")
    beta = history("beta", [[ran], [ran]])
    listed = [
        FlowArtifact("web-ci", "registry.example/web:ccccccc", fingerprint("web c"), C, None, 100.0),
        FlowArtifact("web-ci", ran.name, ran.fingerprint, B, None, 50.0),
        FlowArtifact("web-ci", "registry.example/web:bbbbbbb-rebuilt", fingerprint("again"), B, None, 10.0),
        FlowArtifact("web-ci", "registry.example/web:none", fingerprint("none"), None, None, 1.0),
    ]
    found = builds([beta], entry_of, listed)
    assert set(found) == {B, C}
    assert found[C].deployed is False and found[C].created_at == 100.0
    assert found[B].deployed is True
    assert found[B].created_at == 10.0  # its earliest artifact, the rebuild that never ran ...
    assert found[B].fingerprint == ran.fingerprint  # ... but the artifact named is the one that ran


def test_a_build_known_only_from_snapshots_was_created_when_it_first_ran() -> None:
    beta = history("beta", [[artifact(A)], [artifact(B)]])
    prod = history("prod", [[artifact(B)]], start=7)
    found = builds([beta, prod], entry_of)
    assert found[A].created_at == beta[0].timestamp
    assert found[B].created_at == beta[1].timestamp  # before prod#7
    assert all(b.deployed for b in found.values())


def test_episodes_are_unbroken_runs_per_environment() -> None:
    beta = history(
        "beta", [[artifact(A)], [artifact(A)], [artifact(B)], [artifact(A)], [artifact(A), artifact(None, "x")]]
    )
    prod = history("prod", [[artifact(A)]], start=7)
    found = episodes_by_commit([beta, prod], entry_of)
    assert [e.label for e in found[A]] == ["beta#1..#2", "beta#4..#5", "prod#7"]
    assert [e.label for e in found[B]] == ["beta#3"]


@pytest.mark.parametrize(
    ("deployed", "full", "short"),
    [
        (True, "no artifact; first build {B} (registry.example/web:{b})", "no artifact; first build {b} (web:{b})"),
        (
            False,
            "no artifact; first build {B} (registry.example/web:{b}); never deployed",
            "no artifact; first build {b} (web:{b}); never deployed",
        ),
    ],
)
def test_facts_lines_for_notes_and_tables(deployed: bool, full: str, short: str) -> None:
    beta = history("beta", [[artifact(B)]] if deployed else [[artifact(D)]])
    listed = [FlowArtifact("web-ci", f"registry.example/web:{B[:7]}", fingerprint("web b"), B, None, 1.0)]
    built = builds([beta], entry_of, listed)
    facts = list(commit_facts([(B, [A]), (A, [])], episodes_by_commit([beta], entry_of), built))
    if deployed:
        assert facts[0].text(full=True) == f"beta#1 registry.example/web:{B[:7]}"
    else:
        assert facts[0].text(full=True) == f"built registry.example/web:{B[:7]}; never deployed"
        assert facts[0].text(full=False) == f"built web:{B[:7]}; never deployed"
    assert facts[1].text(full=True) == full.format(B=B, b=B[:7])
    assert facts[1].text(full=False) == short.format(B=B, b=B[:7])
    assert facts[1].build is None and facts[1].first_build == built[B]
