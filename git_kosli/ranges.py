"""Artifact changes between two snapshots as commit ranges: same, ahead, behind, diverged, added, removed.

Pure: commit counts come from one call for all the pairs (`GitHistory.divergences`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from git_kosli.model import Artifact, CommitSha, Divergence
from git_kosli.pairing import ArtifactChange, Change, RepoMatcher


class Relation(StrEnum):
    """How the right side of a pair relates to the left."""

    SAME = "same"
    AHEAD = "ahead"  # the right has commits the left lacks
    BEHIND = "behind"  # the left has commits the right lacks: a rollback within one environment
    DIVERGED = "diverged"
    ADDED = "added"
    REMOVED = "removed"
    OTHER_REPO = "other-repo"  # built from another repository
    UNKNOWN = "unknown"  # built from this repository, from a commit this clone lacks (not fetched)


@dataclass(frozen=True)
class Related:
    """A paired artifact with its two commits in this repository and how far apart they are."""

    change: ArtifactChange
    relation: Relation
    left_commit: CommitSha | None
    right_commit: CommitSha | None
    ahead: int = 0
    behind: int = 0
    missing: tuple[CommitSha, ...] = ()  # this repository's commits of the pair that this clone lacks

    @property
    def artifact(self) -> Artifact:
        """The right side's artifact, or the left's when it was removed."""
        artifact = self.change.new or self.change.old
        assert artifact is not None
        return artifact

    @property
    def rogue(self) -> bool:
        """True when a side present has no provenance."""
        return any(a is not None and a.rogue for a in (self.change.old, self.change.new))

    @property
    def non_compliant(self) -> bool:
        """True when Kosli reports the artifact as not compliant (unknown compliance is not flagged)."""
        return self.artifact.compliant is False


Divergences = Callable[[Sequence[tuple[CommitSha, CommitSha]]], Mapping[tuple[CommitSha, CommitSha], Divergence]]
"""For pairs (old, new): the commits only old has and only new has, all counted in one call."""


def relate_all(changes: Sequence[ArtifactChange], matcher: RepoMatcher, divergences: Divergences) -> list[Related]:
    """Classify each pair; the commit counts of all the pairs that need them come from one `divergences` call."""
    settled = [_settled(change, matcher) for change in changes]
    pairs = [item for item in settled if isinstance(item, tuple)]
    counts = divergences(pairs)
    return [
        item if isinstance(item, Related) else _counted(change, *item, counts[item])
        for change, item in zip(changes, settled, strict=True)
    ]


def _settled(change: ArtifactChange, matcher: RepoMatcher) -> Related | tuple[CommitSha, CommitSha]:
    """The relation of a pair when it needs no counting, else its two commits (left, right) to count."""
    if change.change is Change.STARTED:
        return Related(change, Relation.ADDED, None, _ours(matcher, change.new))
    if change.change is Change.EXITED:
        return Related(change, Relation.REMOVED, _ours(matcher, change.old), None)
    assert change.old is not None and change.new is not None
    left, right = matcher.commits_of_pair(change.old, change.new)
    if change.change is Change.UNCHANGED or (left is not None and left == right):
        return Related(change, Relation.SAME, left, right)
    if left is None or right is None:
        return Related(change, Relation.OTHER_REPO, left, right)
    missing = _missing(matcher, left, right)
    if missing:
        return Related(change, Relation.UNKNOWN, left, right, missing=missing)
    return left, right


def _counted(change: ArtifactChange, left: CommitSha, right: CommitSha, counts: Divergence) -> Related:
    ahead, behind = counts.new_only, counts.old_only
    relation = Relation.DIVERGED if ahead and behind else Relation.AHEAD if ahead else Relation.BEHIND
    return Related(change, relation, left, right, ahead, behind)


def _missing(matcher: RepoMatcher, *commits: CommitSha) -> tuple[CommitSha, ...]:
    return tuple(c for c in dict.fromkeys(commits) if not matcher.has_commit(c))


def _ours(matcher: RepoMatcher, artifact: Artifact | None) -> CommitSha | None:
    return matcher.commit_of(artifact) if artifact is not None else None
