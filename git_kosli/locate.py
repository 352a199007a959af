"""Where a commit is, environment by environment: running, contained, gone, never, or unknown here.

A commit is in a snapshot when a running artifact of this repository was built from it or
from a descendant of it. Pure: ancestry arrives as the set of artifact commits that contain
the commit, computed by the caller in one walk, and the commits missing from this clone as a set.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

from git_kosli.model import Artifact, CommitSha, EnvName, Provenance, Snapshot


class Status(StrEnum):
    """A commit's state in an environment's latest snapshot."""

    RUNNING = "running"  # an artifact built from the commit itself runs
    CONTAINED = "contained"  # an artifact built from a descendant runs
    GONE = "gone"  # it was contained once, and is no longer: a rollback or removal
    NEVER = "never"
    UNKNOWN = "unknown"  # this clone lacks a commit the answer depends on (not fetched)


@dataclass(frozen=True)
class Presence:
    """A commit in one environment."""

    env: EnvName
    status: Status
    latest: Snapshot | None
    artifacts: tuple[tuple[Artifact, Provenance], ...]  # running now and containing it, with this repository's entry
    first_seen: Snapshot | None  # first snapshot that contained it
    left: Snapshot | None  # where gone: the snapshot in which it stopped being contained
    missing: tuple[CommitSha, ...] = ()  # where unknown: the commits of this repository missing here

    @property
    def deployed(self) -> bool:
        """True when the commit runs in the environment now, itself or inside a later build."""
        return self.status in (Status.RUNNING, Status.CONTAINED)


def locate(
    commit: CommitSha,
    history: Sequence[Snapshot],
    env: EnvName,
    *,
    entry_of: Callable[[Artifact], Provenance | None],
    containers: Collection[CommitSha],
    missing: Collection[CommitSha] = (),
) -> Presence:
    """Walk one environment's snapshots oldest first and say where the commit stands in the latest.

    A commit missing here may contain the commit or not: a snapshot running one is taken as
    unchanged from the one before, and the answer is `unknown` unless a commit that is here
    settles it (it runs inside one now, or it ran once and no longer does).
    """
    first_seen: Snapshot | None = None
    left: Snapshot | None = None
    was_in = False
    unsure: dict[CommitSha, None] = {}

    def commit_of(artifact: Artifact) -> CommitSha | None:
        entry = entry_of(artifact)
        return entry.git_commit if entry is not None else None

    for snapshot in history:
        ours = [c for a in snapshot.artifacts if (c := commit_of(a)) is not None]
        is_in = any(c in containers for c in ours)
        lacking = [c for c in ours if c in missing]
        if lacking and not is_in:
            unsure.update(dict.fromkeys(lacking))
            continue
        if is_in and first_seen is None:
            first_seen = snapshot
        if was_in and not is_in:
            left = snapshot
        was_in = is_in
    latest = history[-1] if history else None
    running = (
        tuple((a, e) for a in latest.artifacts if (e := entry_of(a)) and e.git_commit in containers) if latest else ()
    )
    lacking_now = (
        tuple(dict.fromkeys(c for a in latest.artifacts if (c := commit_of(a)) and c in missing)) if latest else ()
    )
    if running:
        status = Status.RUNNING if any(e.git_commit == commit for _, e in running) else Status.CONTAINED
        return Presence(env, status, latest, running, first_seen, None)
    if lacking_now:
        return Presence(env, Status.UNKNOWN, latest, (), first_seen, None, lacking_now)
    if first_seen is not None:
        return Presence(env, Status.GONE, latest, (), first_seen, left)
    if unsure:
        return Presence(env, Status.UNKNOWN, latest, (), None, None, tuple(unsure))
    return Presence(env, Status.NEVER, latest, (), None, None)
