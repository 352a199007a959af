"""Per-commit deployment facts: where a commit's own artifact ran, and which build first contains it.

Pure: histories are lists of snapshots, and the commit graph arrives as a listing of
(commit, parents) in topological order (children first), which may be streamed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from git_kosli.model import Artifact, CommitSha, EnvName, Snapshot, short


class Episode(NamedTuple):
    """An unbroken run of snapshots of one environment in which an artifact built from a commit ran."""

    env: EnvName
    first: int
    last: int
    artifact: str
    display: str = ""
    fingerprint: str = ""
    flow: str | None = None
    first_at: float | None = None  # the start times of the first and last snapshots
    last_at: float | None = None

    @property
    def label(self) -> str:
        """`aws-beta#38..#40`, or `aws-beta#38` for one snapshot."""
        return f"{self.env}#{self.first}" + (f"..#{self.last}" if self.last != self.first else "")


@dataclass(frozen=True)
class Build:
    """A commit that produced an artifact seen running somewhere."""

    commit: CommitSha
    artifact: str
    fingerprint: str
    flow: str | None
    display: str = ""

    @cached_property
    def contains_line(self) -> str:
        """The fact of a commit this build first contains, as notes say it (full sha and name)."""
        return f"no artifact; first build {self.commit} ({self.artifact})"

    @cached_property
    def contains_short_line(self) -> str:
        """The same, as tables say it: short sha and name. Made once for the thousands of commits sharing it."""
        return f"no artifact; first build {short(self.commit)} ({self.display})"


_NO_BUILD = "no artifact; no build contains it yet"
_EPISODE_LINE = re.compile(r"^(?P<env>[^\s#]+)#(?P<first>\d+)\b")


class CommitFacts(NamedTuple):
    """What is known of one commit: its episodes, or (never built itself) the first build containing it.

    A named tuple, not a dataclass: a large bisect makes one per commit, tens of thousands.
    """

    commit: CommitSha
    episodes: tuple[Episode, ...]
    first_build: Build | None

    def text(self, *, full: bool) -> str:
        """The facts, a line each: full names and shas for notes, short ones for tables."""
        if self.episodes:
            return "\n".join(f"{e.label} {e.artifact if full else e.display}" for e in self.episodes)
        build = self.first_build
        if build is None:
            return _NO_BUILD
        return build.contains_line if full else build.contains_short_line


def episodes_by_commit(
    histories: Iterable[Sequence[Snapshot]], commit_of: Callable[[Artifact], CommitSha | None]
) -> dict[CommitSha, list[Episode]]:
    """Group each environment's snapshots into episodes per commit and artifact name."""
    found: dict[CommitSha, list[Episode]] = {}
    for history in histories:
        open_runs: dict[tuple[CommitSha, str], list[int]] = {}  # -> [first, last, position of last, position of first]
        names: dict[tuple[CommitSha, str], Artifact] = {}
        for position, snapshot in enumerate(history):
            for artifact in snapshot.artifacts:
                commit = commit_of(artifact)
                if commit is None:
                    continue
                key = (commit, artifact.name)
                run = open_runs.get(key)
                if run is not None and run[2] == position:
                    continue  # the same artifact listed twice in one snapshot
                if run is not None and run[2] == position - 1:
                    run[1], run[2] = snapshot.index, position
                    continue
                if run is not None:
                    _close(found, history, commit, names[key], run)
                open_runs[key] = [snapshot.index, snapshot.index, position, position]
                names[key] = artifact
        for (commit, name), run in open_runs.items():
            _close(found, history, commit, names[(commit, name)], run)
    for episodes in found.values():
        episodes.sort(key=lambda e: (e.env, e.first))
    return found


def _close(
    found: dict[CommitSha, list[Episode]],
    history: Sequence[Snapshot],
    commit: CommitSha,
    artifact: Artifact,
    run: list[int],
) -> None:
    episode = Episode(
        env=history[0].env,
        first=run[0],
        last=run[1],
        artifact=artifact.name,
        display=artifact.display_name,
        fingerprint=artifact.fingerprint,
        flow=artifact.flow,
        first_at=history[run[3]].timestamp,
        last_at=history[run[2]].timestamp,
    )
    found.setdefault(commit, []).append(episode)


def builds(
    histories: Iterable[Sequence[Snapshot]], commit_of: Callable[[Artifact], CommitSha | None]
) -> dict[CommitSha, Build]:
    """Every commit of this repository that an artifact seen running was built from."""
    found: dict[CommitSha, Build] = {}
    for history in histories:
        for snapshot in history:
            for artifact in snapshot.artifacts:
                commit = commit_of(artifact)
                if commit is not None and commit not in found:
                    found[commit] = Build(
                        commit, artifact.name, artifact.fingerprint, artifact.flow, artifact.display_name
                    )
    return found


def first_builds(
    listing: Iterable[tuple[CommitSha, Sequence[str]]], built: Mapping[CommitSha, Build]
) -> Iterator[tuple[CommitSha, Build | None]]:
    """For each commit of a listing (commit, parents; children first), the oldest listed build that contains it.

    A commit that is built itself maps to its own build. One pass: children hand their
    answer down to their parents, and a commit's inherited answer is dropped once it is
    listed, so a million-commit listing holds only its frontier in memory, never the million.
    """
    inherited: dict[str, tuple[int, Build]] = {}  # (where the build was listed: later is older, the build)
    for index, (sha, parents) in enumerate(listing):
        own = built.get(sha)
        handed = inherited.pop(sha, None)
        answer = (index, own) if own is not None else handed
        yield sha, None if answer is None else answer[1]
        if answer is None:
            continue
        for parent in parents:
            current = inherited.get(parent)
            if current is None or answer[0] > current[0]:
                inherited[parent] = answer


def commit_facts(
    listing: Iterable[tuple[CommitSha, Sequence[str]]],
    episodes: Mapping[CommitSha, list[Episode]],
    built: Mapping[CommitSha, Build],
) -> Iterator[CommitFacts]:
    """The facts for each commit of a listing (commit, parents; children first), in the listing's order."""
    make = CommitFacts._make
    for sha, first in first_builds(listing, built):
        ran = episodes.get(sha)
        yield make((sha, tuple(ran), None) if ran else (sha, (), first))


def merged_note(existing: str | None, fresh: str, envs: Collection[str]) -> str:
    """A note rewritten for some environments only (`notes --env`): theirs fresh, every other environment's kept.

    Lines about runs (`ENV#N..#M NAME`) come ordered by environment and first snapshot, as a write
    for every environment orders them. A `no artifact; ...` line says a commit ran nowhere, so it
    stays only while no run line is left; the kept one was worked out over more environments.
    """
    old = (existing or "").splitlines()
    new = fresh.splitlines()
    runs = [line for line in old if (m := _EPISODE_LINE.match(line)) and m["env"] not in envs]
    runs += [line for line in new if _EPISODE_LINE.match(line)]
    if runs:
        return "\n".join(sorted(runs, key=_run_order))
    others = [line for line in old if not _EPISODE_LINE.match(line)]
    return "\n".join(others or [line for line in new if not _EPISODE_LINE.match(line)])


def _run_order(line: str) -> tuple[str, int]:
    match = _EPISODE_LINE.match(line)
    assert match is not None
    return match["env"], int(match["first"])
