"""Relations between paired artifacts, and where a commit stands, from hand-built data (pure: no git)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from git_kosli.locate import Status, locate
from git_kosli.model import Artifact, CommitSha, Divergence, EnvName
from git_kosli.pairing import RepoMatcher, diff_snapshots
from git_kosli.ranges import Relation, relate_all
from tests.factory import artifact, history

URL = "https://github.com/acme/web/commit/"
A, B, C, D, X = (CommitSha(ch * 40) for ch in "abcdf")
HERE = {A, B, C}  # D is not fetched


def web(sha: CommitSha) -> Artifact:
    return artifact(sha, "web", url=URL + sha)


MATCHER = RepoMatcher(remotes=frozenset({"github.com/acme/web"}), has_commit=lambda sha: sha in HERE)
COUNTS = {(A, B): Divergence(0, 2), (B, A): Divergence(2, 0), (B, C): Divergence(1, 1)}


def counted(pairs: Sequence[tuple[CommitSha, CommitSha]]) -> Mapping[tuple[CommitSha, CommitSha], Divergence]:
    assert all(sha in HERE for pair in pairs for sha in pair), "only commits that are here are counted"
    return {pair: COUNTS[pair] for pair in pairs}


@pytest.mark.parametrize(
    ("old", "new", "relation", "ahead", "behind", "missing"),
    [
        (A, B, Relation.AHEAD, 2, 0, ()),
        (B, A, Relation.BEHIND, 0, 2, ()),
        (B, C, Relation.DIVERGED, 1, 1, ()),
        (A, A, Relation.SAME, 0, 0, ()),
        (A, D, Relation.UNKNOWN, 0, 0, (D,)),  # never other-repo: the commit URL says it is ours
    ],
)
def test_relations(
    old: CommitSha, new: CommitSha, relation: Relation, ahead: int, behind: int, missing: tuple[CommitSha, ...]
) -> None:
    before, after = history("e", [[web(old)], [web(new)]])
    (related,) = relate_all(diff_snapshots(old=before, new=after, ours=MATCHER.flow_of), MATCHER, counted)
    assert (related.relation, related.ahead, related.behind, related.missing) == (relation, ahead, behind, missing)


def test_added_removed_and_another_repository() -> None:
    api = "https://github.com/acme/api/commit/"
    before, after = history("e", [[web(A), artifact(X, "api", url=api + X)], [artifact(D, "api", url=api + D), web(B)]])
    related = relate_all(diff_snapshots(old=before, new=after, ours=MATCHER.flow_of), MATCHER, counted)
    assert sorted(r.relation for r in related) == [Relation.AHEAD, Relation.OTHER_REPO]  # D is theirs: not "unknown"
    before, after = history("e", [[web(A)], [artifact(X, "api")]])
    related = relate_all(diff_snapshots(old=before, new=after, ours=MATCHER.flow_of), MATCHER, counted)
    assert sorted(r.relation for r in related) == [Relation.ADDED, Relation.REMOVED]


def where(commit: CommitSha, runs: Sequence[CommitSha | None], containers: set[CommitSha]):  # type: ignore[no-untyped-def]
    snaps = history("beta", [[web(c)] if c else [] for c in runs])
    missing = {c for c in runs if c is not None and c not in HERE}
    return locate(
        commit, snaps, EnvName("beta"), entry_of=MATCHER.provenance_of, containers=containers, missing=missing
    )


@pytest.mark.parametrize(
    ("runs", "containers", "status", "first", "left", "missing"),
    [
        ([A, B], {B}, Status.RUNNING, 2, None, ()),
        ([A, C], {C}, Status.CONTAINED, 2, None, ()),
        ([B, A], {B}, Status.GONE, 1, 2, ()),
        ([A, None], {A}, Status.GONE, 1, 2, ()),  # removed
        ([A, C], set(), Status.NEVER, None, None, ()),
        ([A, D], set(), Status.UNKNOWN, None, None, (D,)),  # D is not here: it may contain the commit
        ([B, D], {B}, Status.UNKNOWN, 1, None, (D,)),  # ... or still not
        ([D, A], set(), Status.UNKNOWN, None, None, (D,)),  # it may have run inside D once: not "never"
        ([B, D, A], {B}, Status.GONE, 1, 3, ()),  # it ran, and A does not contain it: gone for sure
        ([D, B], {B}, Status.RUNNING, 2, None, ()),  # what is here settles it
    ],
)
def test_where_a_commit_stands(
    runs: list[CommitSha | None],
    containers: set[CommitSha],
    status: Status,
    first: int | None,
    left: int | None,
    missing: tuple[CommitSha, ...],
) -> None:
    found = where(B, runs, containers)
    assert found.status is status
    assert (found.first_seen and found.first_seen.index, found.left and found.left.index) == (first, left)
    assert found.missing == missing
    assert found.deployed == (status in (Status.RUNNING, Status.CONTAINED))
