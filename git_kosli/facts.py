"""Per-commit deployment facts: where a commit's own artifact ran, and which build first contains it.

The first build of a commit is defined here once (`first_builds`), and `where`, `bisect`'s table,
`notes` and `--built-first` all take it from here.

Pure: histories are lists of snapshots, and the commit graph arrives as a listing of
(commit, parents) in topological order (children first), which may be streamed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from git_kosli.model import Artifact, CommitSha, EnvName, FlowArtifact, Provenance, Snapshot, display_name, short


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
    """A commit of this repository that produced an artifact: listed by its flow, or seen running.

    `created_at` is when the flow recorded its first artifact; for a build known only from
    snapshots (an embedded store without builds), the start of the first snapshot it ran in.
    The artifact named is one that ran, when any did: the one `bisect run --deployed` hands on.
    """

    commit: CommitSha
    artifact: str
    fingerprint: str
    flow: str | None
    display: str = ""
    created_at: float = 0.0
    deployed: bool = True

    @cached_property
    def contains_line(self) -> str:
        """The fact of a commit this build first contains, as notes say it (full sha and name)."""
        return f"no artifact; first build {self.commit} ({self.artifact}){self._never}"

    @cached_property
    def contains_short_line(self) -> str:
        """The same, as tables say it: short sha and name. Made once for the thousands of commits sharing it."""
        return f"no artifact; first build {short(self.commit)} ({self.display}){self._never}"

    def own_line(self, *, full: bool) -> str:
        """The fact of the commit it was built from, when it never ran anywhere."""
        return f"built {self.artifact if full else self.display}; never deployed"

    @property
    def _never(self) -> str:
        return "" if self.deployed else "; never deployed"


_NO_BUILD = "no artifact; no build contains it yet"
_EPISODE_LINE = re.compile(r"^(?P<env>[^\s#]+)#(?P<first>\d+)\b")


class CommitFacts(NamedTuple):
    """What is known of one commit: its episodes, its own build, or (never built itself) the first build containing it.

    A named tuple, not a dataclass: a large bisect makes one per commit, tens of thousands.
    """

    commit: CommitSha
    episodes: tuple[Episode, ...]
    first_build: Build | None  # never built itself: the first build that contains it
    build: Build | None = None  # built itself: its build, deployed or not

    def text(self, *, full: bool) -> str:
        """The facts, a line each: full names and shas for notes, short ones for tables."""
        if self.episodes:
            return "\n".join(f"{e.label} {e.artifact if full else e.display}" for e in self.episodes)
        if self.build is not None:
            return self.build.own_line(full=full)
        build = self.first_build
        if build is None:
            return _NO_BUILD
        return build.contains_line if full else build.contains_short_line


def episodes_by_commit(
    histories: Iterable[Sequence[Snapshot]], entry_of: Callable[[Artifact], Provenance | None]
) -> dict[CommitSha, list[Episode]]:
    """Group each environment's snapshots into episodes per commit and artifact name.

    `entry_of` gives this repository's provenance entry of an artifact: its commit and its flow.
    """
    found: dict[CommitSha, list[Episode]] = {}
    for history in histories:
        open_runs: dict[tuple[CommitSha, str], list[int]] = {}  # -> [first, last, position of last, position of first]
        names: dict[tuple[CommitSha, str], tuple[Artifact, str]] = {}
        for position, snapshot in enumerate(history):
            for artifact in snapshot.artifacts:
                entry = entry_of(artifact)
                commit = entry.git_commit if entry is not None else None
                if entry is None or commit is None:
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
                names[key] = (artifact, entry.flow)
        for (commit, name), run in open_runs.items():
            _close(found, history, commit, names[(commit, name)], run)
    for episodes in found.values():
        episodes.sort(key=lambda e: (e.env, e.first))
    return found


def _close(
    found: dict[CommitSha, list[Episode]],
    history: Sequence[Snapshot],
    commit: CommitSha,
    named: tuple[Artifact, str],
    run: list[int],
) -> None:
    artifact, flow = named
    episode = Episode(
        env=history[0].env,
        first=run[0],
        last=run[1],
        artifact=artifact.name,
        display=artifact.display_name,
        fingerprint=artifact.fingerprint,
        flow=flow,
        first_at=history[run[3]].timestamp,
        last_at=history[run[2]].timestamp,
    )
    found.setdefault(commit, []).append(episode)


def builds(
    histories: Iterable[Sequence[Snapshot]],
    provenance_of: Callable[[Artifact], Provenance | None],
    listed: Iterable[FlowArtifact] = (),
) -> dict[CommitSha, Build]:
    """Every commit of this repository that produced an artifact, deployed or not: one `Build` each.

    `listed` are the artifacts this repository's flows recorded (every build); the histories add
    the artifacts seen running, and say which ran. A commit's `created_at` is its earliest artifact's.
    """
    seen: dict[str, tuple[float, Artifact, Provenance]] = {}  # fingerprint (or name) -> first seen running
    for history in histories:
        for snapshot in history:
            for artifact in snapshot.artifacts:
                entry = provenance_of(artifact)
                if entry is None or entry.git_commit is None:
                    continue
                key = artifact.fingerprint or artifact.name
                known = seen.get(key)
                if known is None or snapshot.timestamp < known[0]:
                    seen[key] = (snapshot.timestamp, artifact, entry)
    candidates: dict[CommitSha, list[tuple[bool, float, str, str, str | None]]] = {}  # (ran?, created, name, fp, flow)
    for item in listed:
        if item.git_commit is None:
            continue
        ran = seen.get(item.fingerprint)
        created = min(filter(None, (item.created_at, ran[0] if ran else None)), default=_UNKNOWN_TIME)
        candidates.setdefault(item.git_commit, []).append(
            (ran is not None, created, item.name, item.fingerprint, item.flow)
        )
    listed_fingerprints = {c[3] for found in candidates.values() for c in found}
    for key, (when, artifact, entry) in seen.items():
        if key not in listed_fingerprints:
            assert entry.git_commit is not None
            candidates.setdefault(entry.git_commit, []).append(
                (True, when, artifact.name, artifact.fingerprint, entry.flow)
            )
    return {commit: _build(commit, found) for commit, found in candidates.items()}


_UNKNOWN_TIME = float("inf")  # a listed artifact without `created_at`, never seen running: after every known one


def _build(commit: CommitSha, found: list[tuple[bool, float, str, str, str | None]]) -> Build:
    """One commit's build from its artifacts: created when the first was; named after the first that ran, if any."""
    ran = [c for c in found if c[0]]
    _, _, name, fingerprint, flow = min(ran or found, key=lambda c: (c[1], c[3]))
    created = min(c[1] for c in found)
    return Build(commit, name, fingerprint, flow, display_name(name), created, deployed=bool(ran))


def first_builds(
    listing: Iterable[tuple[CommitSha, Sequence[str]]], built: Mapping[CommitSha, Build]
) -> Iterator[tuple[CommitSha, Build | None]]:
    """For each commit of a listing (commit, parents; children first), its first build: the one rule for it.

    A commit's first build is the earliest-created build among those made from it or from a
    descendant of it, deployed or not (ties: the nearest by ancestry, then the lowest sha). A
    commit built itself maps to its own build. One pass: each commit hands the best build it
    knows down to its parents, and a commit's inherited answer is dropped once it is listed,
    so a million-commit listing holds only its frontier in memory, never the million. The
    listing must hold every commit between the builds and the commits asked about.
    """
    inherited: dict[str, tuple[float, int, str, Build]] = {}  # (created, distance, sha, build)
    for sha, parents in listing:
        own = built.get(sha)
        best = inherited.pop(sha, None)
        if own is not None:
            mine = (own.created_at, 0, own.commit, own)
            best = mine if best is None or mine[:3] < best[:3] else best
        yield sha, own if own is not None else (None if best is None else best[3])
        if best is None:
            continue
        down = (best[0], best[1] + 1, best[2], best[3])
        for parent in parents:
            current = inherited.get(parent)
            if current is None or down[:3] < current[:3]:
                inherited[parent] = down


def first_build_of(
    commit: CommitSha,
    containers: Collection[CommitSha],
    built: Mapping[CommitSha, Build],
    listing: Callable[[Sequence[CommitSha]], Iterable[tuple[CommitSha, Sequence[str]]]],
) -> Build | None:
    """The first build of one commit, by the rule of `first_builds`, knowing which builds contain it.

    The earliest created wins outright; only builds created at the same moment need the walk,
    over `listing(tips)`: what those builds contain that the commit's parents do not, children first.
    """
    own = built.get(commit)
    if own is not None:
        return own
    found = [built[c] for c in containers if c in built]
    if not found:
        return None
    earliest = min(b.created_at for b in found)
    tied = {b.commit: b for b in found if b.created_at == earliest}
    if len(tied) == 1:
        return next(iter(tied.values()))
    return next((b for sha, b in first_builds(listing(sorted(tied)), tied) if sha == commit), None)


def commit_facts(
    listing: Iterable[tuple[CommitSha, Sequence[str]]],
    episodes: Mapping[CommitSha, list[Episode]],
    built: Mapping[CommitSha, Build],
) -> Iterator[CommitFacts]:
    """The facts for each commit of a listing (commit, parents; children first), in the listing's order."""
    make = CommitFacts._make
    for sha, first in first_builds(listing, built):
        ran = episodes.get(sha)
        own = built.get(sha)
        yield make((sha, tuple(ran) if ran else (), None if own is not None else first, own))


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
