"""Where a commit is, environment by environment: running, contained, gone or never.

A commit is in a snapshot when a running artifact of this repository was built
from it or from a descendant of it. Pure: ancestry arrives as the set of artifact
commits that contain the commit, computed by the caller in one walk.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from git_kosli.model import Artifact, CommitSha, EnvName, Snapshot


class Status(StrEnum):
    """A commit's state in an environment's latest snapshot."""

    RUNNING = "running"  # an artifact built from the commit itself runs
    CONTAINED = "contained"  # an artifact built from a descendant runs
    GONE = "gone"  # it was contained once, and is no longer: a rollback or removal
    NEVER = "never"


@dataclass(frozen=True)
class Presence:
    """A commit in one environment."""

    env: EnvName
    status: Status
    latest: Snapshot | None
    artifacts: tuple[Artifact, ...]  # running now and containing the commit
    first_seen: Snapshot | None  # first snapshot that contained it
    left: Snapshot | None  # where gone: the snapshot in which it stopped being contained

    @property
    def deployed(self) -> bool:
        """True when the commit runs in the environment now, itself or inside a later build."""
        return self.status in (Status.RUNNING, Status.CONTAINED)


def locate(
    commit: CommitSha,
    history: Sequence[Snapshot],
    env: EnvName,
    *,
    commit_of: Callable[[Artifact], CommitSha | None],
    containers: Collection[CommitSha],
) -> Presence:
    """Walk one environment's snapshots oldest first and say where the commit stands in the latest."""
    first_seen: Snapshot | None = None
    left: Snapshot | None = None
    was_in = False
    for snapshot in history:
        is_in = any(commit_of(a) in containers for a in snapshot.artifacts)
        if is_in and first_seen is None:
            first_seen = snapshot
        if was_in and not is_in:
            left = snapshot
        was_in = is_in
    latest = history[-1] if history else None
    running = tuple(a for a in latest.artifacts if commit_of(a) in containers) if latest else ()
    if running:
        status = Status.RUNNING if any(commit_of(a) == commit for a in running) else Status.CONTAINED
        left = None
    else:
        status = Status.GONE if first_seen is not None else Status.NEVER
    return Presence(env, status, latest, running, first_seen, left)


def first_seen_builds(
    histories: Mapping[EnvName, Sequence[Snapshot]], commit_of: Callable[[Artifact], CommitSha | None]
) -> dict[CommitSha, tuple[float, Artifact]]:
    """Each commit of this repository that ran anywhere, with when and as which artifact it first ran."""
    first: dict[CommitSha, tuple[float, Artifact]] = {}
    for history in histories.values():
        for snapshot in history:
            for artifact in snapshot.artifacts:
                commit = commit_of(artifact)
                if commit is not None and (commit not in first or snapshot.timestamp < first[commit][0]):
                    first[commit] = (snapshot.timestamp, artifact)
    return first


class FirstBuild(NamedTuple):
    """The build that first contained a commit never built itself."""

    commit: CommitSha
    artifact: Artifact


def first_build(
    commit: CommitSha, containers: Collection[CommitSha], seen: Mapping[CommitSha, tuple[float, Artifact]]
) -> FirstBuild | None:
    """For a commit never built itself, the build containing it that ran first; None when it was built."""
    if commit in seen:
        return None
    candidates = [(seen[c][0], c) for c in containers if c in seen]
    if not candidates:
        return None
    _, chosen = min(candidates)
    return FirstBuild(chosen, seen[chosen][1])
