"""What ran where, when: an environment's history as runs of snapshots, for pictures of it. Pure.

A run is an unbroken stretch of snapshots in which one artifact of this repository (one flow,
that of its provenance entry) ran one commit. Flagged artifacts of any repository
(rogue: no provenance; non-compliant) are stretches too, so a picture can mark them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from git_kosli.model import Artifact, CommitSha, EnvName, Provenance, Snapshot


class Run(NamedTuple):
    """One commit of one of this repository's artifacts running through consecutive snapshots."""

    env: EnvName
    key: str  # the flow of this repository's entry: runs of one key replace each other
    artifact: Artifact  # as it started
    commit: CommitSha
    first: Snapshot
    last: Snapshot
    end: float | None  # when the snapshot that ended it started; None while it runs
    previous: CommitSha | None  # the commit this key ran before, if any
    non_compliant: bool  # Kosli reported the artifact non-compliant in one of its snapshots

    @property
    def snapshots(self) -> str:
        """`aws-beta#6..#7`, or `aws-beta#6` for one snapshot."""
        first, last = self.first.index, self.last.index
        return f"{self.env}#{first}" + (f"..#{last}" if last != first else "")


class Flagged(NamedTuple):
    """An artifact of any repository that ran without provenance (rogue) or non-compliant."""

    env: EnvName
    artifact: Artifact
    first: Snapshot
    end: float | None  # None while it runs
    kind: str  # "rogue" or "non-compliant"


def runs(history: Sequence[Snapshot], entry_of: Callable[[Artifact], Provenance | None]) -> list[Run]:
    """The runs of an environment's snapshots (oldest first), in the order they started.

    `entry_of` gives this repository's provenance entry of an artifact: its flow keys the run.
    """
    done: list[Run] = []
    open_runs: dict[str, Run] = {}
    last_commit: dict[str, CommitSha] = {}
    for snapshot in history:
        here: dict[str, tuple[Artifact, CommitSha]] = {}
        for artifact in snapshot.artifacts:
            entry = entry_of(artifact)
            if entry is not None and entry.git_commit is not None:
                here.setdefault(entry.flow, (artifact, entry.git_commit))
        for key, ended in list(open_runs.items()):
            if key not in here or here[key][1] != ended.commit:
                done.append(ended._replace(end=snapshot.timestamp))
                del open_runs[key]
        for key, (artifact, commit) in here.items():
            run = open_runs.get(key) or Run(
                snapshot.env,
                key,
                artifact,
                commit,
                first=snapshot,
                last=snapshot,
                end=None,
                previous=last_commit.get(key),
                non_compliant=False,
            )
            last_commit[key] = commit
            open_runs[key] = run._replace(last=snapshot, non_compliant=run.non_compliant or artifact.compliant is False)
    done += open_runs.values()
    return sorted(done, key=lambda r: (r.first.timestamp, r.key))


def flagged(history: Sequence[Snapshot]) -> list[Flagged]:
    """Each stretch of snapshots in which a rogue or non-compliant artifact ran, in the order they started."""
    done: list[Flagged] = []
    open_flags: dict[tuple[str, str], Flagged] = {}
    for snapshot in history:
        here = {
            (artifact.identity, kind): artifact
            for artifact in snapshot.artifacts
            for kind, on in (("rogue", artifact.rogue), ("non-compliant", artifact.compliant is False))
            if on
        }
        for key, flag in list(open_flags.items()):
            if key not in here:
                done.append(flag._replace(end=snapshot.timestamp))
                del open_flags[key]
        for key, artifact in here.items():
            if key not in open_flags:
                open_flags[key] = Flagged(snapshot.env, artifact, snapshot, None, key[1])
    done += open_flags.values()
    return sorted(done, key=lambda f: (f.first.timestamp, f.kind))
