"""Episodes and first builds from hand-built histories (pure)."""

from __future__ import annotations

from git_kosli.facts import Build, builds, commit_facts, episodes_by_commit, first_builds
from git_kosli.model import CommitSha
from tests.factory import artifact, history

A, B, C, D = (CommitSha(ch * 40) for ch in "abcd")


def commit_of(art):  # type: ignore[no-untyped-def]
    return art.provenance[0].git_commit if art.provenance else None


def test_episodes_are_unbroken_runs_per_environment() -> None:
    beta = history(
        "beta", [[artifact(A)], [artifact(A)], [artifact(B)], [artifact(A)], [artifact(A), artifact(None, "x")]]
    )
    prod = history("prod", [[artifact(A)]], start=7)
    found = episodes_by_commit([beta, prod], commit_of)
    assert [e.label for e in found[A]] == ["beta#1..#2", "beta#4..#5", "prod#7"]
    assert [e.label for e in found[B]] == ["beta#3"]


def test_first_build_is_the_oldest_build_containing_the_commit() -> None:
    # D (newest) has parents B and C; B's parent is A; C's parent is A. Built: D and B.
    parents = {D: [B, C], B: [A], C: [A], A: []}
    order = [D, C, B, A]  # children first
    built = {D: Build(D, "web:d", "f", "web-ci"), B: Build(B, "web:b", "f", "web-ci")}
    first = dict(first_builds(((sha, parents[sha]) for sha in order), built))
    assert first[A] == built[B]  # B is older than D and contains A
    assert first[C] == built[D]  # only D contains C
    assert first[B] == built[B]


def test_facts_lines_for_notes_and_tables() -> None:
    beta = history("beta", [[artifact(B)]])
    facts = list(commit_facts([(B, [A]), (A, [])], episodes_by_commit([beta], commit_of), builds([beta], commit_of)))
    assert facts[0].text(full=True) == f"beta#1 registry.example/web:{B[:7]}"
    assert facts[1].text(full=True) == f"no artifact; first build {B} (registry.example/web:{B[:7]})"
    assert facts[1].text(full=False) == f"no artifact; first build {B[:7]} (web:{B[:7]})"
