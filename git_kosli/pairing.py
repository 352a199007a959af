"""Pair the artifacts of two snapshots, and tell which of them were built from this repository.

Pure: the repository is reached only through the two callables the caller passes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import NamedTuple

from git_kosli.errors import GET_SNAPSHOTS, SourceError
from git_kosli.model import Artifact, CommitSha, EnvName, Provenance, Snapshot

_SCP_LIKE = re.compile(r"^(?:[\w.-]+@)?([\w.-]+):(?!//)(.+)$")
_URL = re.compile(r"^[a-z+]+://(?:[^@/]+@)?([^/:]+)(?::\d+)?/(.+)$", re.IGNORECASE)
_COMMIT_PATH = re.compile(r"/(?:-/)?commits?/[0-9a-fA-F]+/?$")


class Change(StrEnum):
    """What happened to an artifact between two snapshots."""

    CHANGED = "changed"
    STARTED = "started"
    EXITED = "exited"
    UNCHANGED = "unchanged"


class ArtifactChange(NamedTuple):
    """An artifact (or a pair of them) seen across two snapshots, with the flow that pairs or names it."""

    change: Change
    old: Artifact | None
    new: Artifact | None
    flow: str | None = None  # this repository's flow, else a flow that builds the artifact, else None

    @property
    def name(self) -> str:
        """The newer artifact's name."""
        return (self.new or self.old).name  # type: ignore[union-attr]


FlowOf = Callable[[Artifact], str | None]
"""The flow of this repository's provenance entry of an artifact, or None for another repository's."""


def _no_flow(artifact: Artifact) -> str | None:
    return None


def diff_snapshots(*, old: Snapshot, new: Snapshot, ours: FlowOf = _no_flow) -> list[ArtifactChange]:
    """Pair the artifacts of two snapshots; nothing depends on the order in which Kosli lists an artifact's flows.

    In turn, each step pairing only what the ones before left unpaired:
    1. the same fingerprint is the same artifact, unchanged (without a digest: the same name);
    2. this repository's artifacts pair by the flow of their provenance entry (`ours`);
    3. other artifacts pair by a flow that builds them: one both list, which holds a single
       image in each snapshot (scan and promotion flows hold every service's artifacts, so
       they never pair anything). In steps 2 and 3, Kosli's own `previous_fingerprint` in
       one of those flows pairs first, then the same image, then the order of the snapshots;
    4. then by image name without tag or digest;
    5. what is left exited (old) or started (new).
    The changes come in the old snapshot's order, then what started in the new one's. Each step
    looks artifacts up by key, so a snapshot of a thousand artifacts pairs in milliseconds.
    """
    images = _images_by_flow(old), _images_by_flow(new)
    builders = sorted(f for f, names in images[0].items() if len(names) == 1 and len(images[1].get(f, ())) == 1)
    pairing = _Pairing(old.artifacts, new.artifacts)
    pairing.match(_identity, _identity)
    if pairing.open():  # most snapshots change one artifact or none: the steps below look only at what is left
        pairing.within(pairing.members(lambda a: [f] if (f := ours(a)) else []))
    if pairing.open():
        builds = set(builders)
        pairing.within(pairing.members(lambda a: [p.flow for p in a.provenance if p.flow in builds]))
    if pairing.open():
        pairing.match(_image, _image)
    return pairing.changes(lambda a, side: ours(a) or _building_flow(a, images[side]))


def flows_to_show(snapshot: Snapshot, ours: FlowOf = _no_flow) -> list[str | None]:
    """The flow to name for each artifact of a snapshot, as `diff_snapshots` names it.

    This repository's flow, else the one that builds the artifact (holding no other image there), else None.
    """
    images = _images_by_flow(snapshot)
    return [ours(a) or _building_flow(a, images) for a in snapshot.artifacts]


def _images_by_flow(snapshot: Snapshot) -> dict[str, set[str]]:
    """Each flow of the snapshot's artifacts, with the images it holds there."""
    found: dict[str, set[str]] = {}
    for artifact in snapshot.artifacts:
        for entry in artifact.provenance:
            found.setdefault(entry.flow, set()).add(artifact.image)
    return found


def _building_flow(artifact: Artifact, images: Mapping[str, set[str]]) -> str | None:
    """The flow that builds an artifact, as its snapshot shows: one holding no other image (first by name)."""
    own = sorted(p.flow for p in artifact.provenance if images.get(p.flow) == {artifact.image})
    return own[0] if own else None


Members = dict[str, tuple[list[int], list[int]]]
"""Each flow, with the positions of its artifacts in the old and in the new snapshot."""


Key = Callable[[Artifact], object]


class _Pairing:
    """Artifacts of two snapshots being paired, step by step; a pair once made is final."""

    def __init__(self, old: Sequence[Artifact], new: Sequence[Artifact]) -> None:
        self.old, self.new = old, new
        self.partner: dict[int, int] = {}  # old position -> new position
        self.taken: set[int] = set()  # new positions paired
        self.by_flow: dict[int, str] = {}  # old position -> the flow that paired it

    def match(
        self,
        old_key: Key,
        new_key: Key,
        *,
        olds: Iterable[int] | None = None,
        news: Iterable[int] | None = None,
        flow: str | None = None,
    ) -> None:
        """Pair each unpaired old artifact (of `olds`) with the first unpaired new one (of `news`) of the same key.

        A key of None matches nothing.
        """
        left = [i for i in (range(len(self.old)) if olds is None else olds) if i not in self.partner]
        if not left:
            return
        waiting: dict[object, list[int]] = {}
        for j in range(len(self.new)) if news is None else news:
            if j not in self.taken and (key := new_key(self.new[j])) is not None:
                waiting.setdefault(key, []).append(j)
        if not waiting:
            return
        for found in waiting.values():
            found.reverse()  # popped from the end: the first in the snapshot's order first
        for i in left:
            queue = waiting.get(old_key(self.old[i]))
            while queue and queue[-1] in self.taken:
                queue.pop()
            if queue:
                j = queue.pop()
                self.partner[i] = j
                self.taken.add(j)
                if flow is not None:
                    self.by_flow[i] = flow

    def members(self, flows: Callable[[Artifact], Iterable[str]]) -> Members:
        """The flows of the artifacts not paired yet, with their positions: flows with members on both sides only."""
        found: Members = {}
        for side, artifacts, done in ((0, self.old, self.partner), (1, self.new, self.taken)):
            for position, artifact in enumerate(artifacts):
                if position not in done:
                    for flow in dict.fromkeys(flows(artifact)):
                        found.setdefault(flow, ([], []))[side].append(position)
        return {flow: sides for flow, sides in found.items() if sides[0] and sides[1]}

    def open(self) -> bool:
        """True while an artifact of each snapshot is still unpaired."""
        return len(self.partner) < len(self.old) and len(self.taken) < len(self.new)

    def within(self, members: Members) -> None:
        """Pair the unpaired members of each flow.

        Kosli's own `previous_fingerprint` in any of the flows first, then the same image, then
        the order of the snapshots.
        """
        flows = sorted(members)
        stages: list[Callable[[str], tuple[Key, Key]]] = [
            lambda flow: (_fingerprint, _previous_in(flow)),
            lambda flow: (_image, _image),
            lambda flow: (_anything, _anything),
        ]
        for stage in stages:
            for flow in flows:
                olds, news = members[flow]
                self.match(*stage(flow), olds=olds, news=news, flow=flow)

    def changes(self, flow_of: Callable[[Artifact, int], str | None]) -> list[ArtifactChange]:
        """The pairs in the old snapshot's order, then what started.

        `flow_of(artifact, side)` names the flow of what a flow did not pair (side 0 old, 1 new).
        """
        out = []
        for i, before in enumerate(self.old):
            j = self.partner.get(i)
            if j is None:
                out.append(ArtifactChange(Change.EXITED, before, None, flow_of(before, 0)))
                continue
            after = self.new[j]
            kind = Change.UNCHANGED if _identity(before) == _identity(after) else Change.CHANGED
            out.append(ArtifactChange(kind, before, after, self.by_flow.get(i) or flow_of(after, 1)))
        started = [a for j, a in enumerate(self.new) if j not in self.taken]
        return out + [ArtifactChange(Change.STARTED, None, a, flow_of(a, 1)) for a in started]


def _identity(artifact: Artifact) -> object:
    """What makes two artifacts the same: the fingerprint; without a digest (an empty fingerprint), the name."""
    return artifact.fingerprint or ("", artifact.name)


def _image(artifact: Artifact) -> object:
    return artifact.image


def _fingerprint(artifact: Artifact) -> object:
    return artifact.fingerprint or None


def _anything(artifact: Artifact) -> object:
    return True


def _previous_in(flow: str) -> Key:
    """The fingerprint Kosli says (`deployment_diff`) an artifact followed in `flow`, or None."""
    return lambda artifact: next((p.previous_fingerprint for p in artifact.provenance if p.flow == flow), None)


def normalize_repo_url(url: str) -> str | None:
    """`host/owner/repo` for any spelling of a repository's address (https, ssh, scp-like)."""
    url = url.strip()
    match = _URL.match(url) or _SCP_LIKE.match(url)
    if not match:
        return None
    host, path = match.group(1).lower(), match.group(2).strip("/")
    path = path.removesuffix(".git").strip("/")
    return f"{host}/{path}" if path else None


def repo_of_commit_url(commit_url: str) -> str | None:
    """The repository a commit URL points into (GitHub `/commit/`, GitLab `/-/commit/`, Bitbucket `/commits/`)."""
    if not _COMMIT_PATH.search(commit_url):
        return None
    return normalize_repo_url(_COMMIT_PATH.sub("", commit_url))


@dataclass(frozen=True)
class RepoMatcher:
    """Decides which provenance entry of an artifact belongs to this repository, wherever it stands in `flows[]`."""

    remotes: frozenset[str]
    has_commit: Callable[[str], bool]
    flow: str | None = None  # this repository's flow (`kosli.flow`), for when commit URLs do not tell
    flows: frozenset[str] = frozenset()  # flows learned to be this repository's (`learning`)
    # by provenance alone: the answer depends on nothing else, and it is asked for every artifact of every snapshot
    _known: dict[tuple[Provenance, ...], Provenance | None] = field(default_factory=dict, compare=False, repr=False)
    _present: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    def provenance_of(self, artifact: Artifact) -> Provenance | None:
        """The flow entry of this repository.

        The configured flow, else one whose commit URL is a remote here, else one whose commit exists
        here, else one of a flow learned to be this repository's; among several, the first by flow name.
        """
        provenance = artifact.provenance
        if provenance not in self._known:
            self._known[provenance] = self._find(provenance)
        return self._known[provenance]

    def _find(self, provenance: tuple[Provenance, ...]) -> Provenance | None:
        entries = [p for p in provenance if p.git_commit]
        if len(entries) > 1:
            entries.sort(key=_flow_name)
        if self.flow is not None:
            for entry in entries:
                if entry.flow == self.flow:
                    return entry
        if self.remotes:
            for entry in entries:
                if entry.commit_url and repo_of_commit_url(entry.commit_url) in self.remotes:
                    return entry
        for entry in entries:
            if self._here(entry.git_commit or ""):
                return entry
        for entry in entries:
            if entry.flow in self.flows:
                return entry
        return None

    def _here(self, sha: str) -> bool:
        """`has_commit`, asked once per commit: promotion and scan flows name the same commits again and again."""
        here = self._present.get(sha)
        if here is None:
            here = self._present[sha] = self.has_commit(sha)
        return here

    def commit_of(self, artifact: Artifact) -> CommitSha | None:
        """The commit this repository built the artifact from, or None."""
        entry = self.provenance_of(artifact)
        return entry.git_commit if entry is not None else None

    def flow_of(self, artifact: Artifact) -> str | None:
        """The flow of this repository's entry (the flow to show for the artifact), or None."""
        entry = self.provenance_of(artifact)
        return entry.flow if entry is not None else None

    def flows_of(self, artifacts: Iterable[Artifact]) -> set[str]:
        """The flows of this repository's entries among these artifacts: its flows, as the environments show them."""
        found: set[str] = set()
        seen: dict[int, tuple[Provenance, ...]] = {}  # histories share provenance tuples: each is looked up once
        for artifact in artifacts:
            if id(artifact.provenance) in seen:
                continue
            seen[id(artifact.provenance)] = artifact.provenance  # kept alive, so its id is not reused
            flow = self.flow_of(artifact)
            if flow is not None:
                found.add(flow)
        return found

    def repository_flows(self, histories: Iterable[Sequence[Snapshot]]) -> list[str]:
        """This repository's flows.

        The configured one (`kosli.flow`), else those it learned from the histories (`learning`),
        else those of its entries in the histories.
        """
        if self.flow is not None:
            return [self.flow]
        if self.flows:
            return sorted(self.flows)
        return sorted(self.flows_of(a for history in histories for s in history for a in s.artifacts))

    def learning(self, artifacts: Iterable[Artifact]) -> RepoMatcher:
        """This matcher, also knowing the flows it recognises among `artifacts` as this repository's.

        Then an artifact of one of those flows is recognised even when its commit is missing here
        (not fetched yet, or beyond a shallow boundary) and no commit URL tells.
        """
        found = self.flows_of(artifacts)
        if found <= self.flows:
            return self
        kept: dict[tuple[Provenance, ...], Provenance | None] = {
            provenance: entry
            for provenance, entry in self._known.items()
            if entry is not None  # still right
        }
        return replace(self, flows=self.flows | found, _known=kept)

    def commits_of_pair(self, old: Artifact, new: Artifact) -> tuple[CommitSha | None, CommitSha | None]:
        """Both commits of a changed artifact.

        A flow builds from one repository, so when one side is recognised as ours, the other side's
        commit in the same flow is ours too, even when it is missing here (not fetched yet, or beyond
        a shallow boundary).
        """
        old_entry, new_entry = self.provenance_of(old), self.provenance_of(new)
        if old_entry is None and new_entry is not None:
            old_entry = _entry_in_flow(old, new_entry.flow)
        if new_entry is None and old_entry is not None:
            new_entry = _entry_in_flow(new, old_entry.flow)
        return (old_entry.git_commit if old_entry else None, new_entry.git_commit if new_entry else None)


def _entry_in_flow(artifact: Artifact, flow: str) -> Provenance | None:
    return next((p for p in artifact.provenance if p.flow == flow and p.git_commit), None)


def _flow_name(entry: Provenance) -> str:
    return entry.flow


def require_this_repository(histories: Mapping[EnvName, Sequence[Snapshot]], matcher: RepoMatcher) -> None:
    """Refuse, saying what the environments do run, when none of their artifacts was built from this repository."""
    flows: set[str] = set()
    repos: set[str] = set()
    for history in histories.values():
        for snapshot in history:
            for artifact in snapshot.artifacts:
                if matcher.commit_of(artifact) is not None:
                    return
                flows.update(p.flow for p in artifact.provenance if p.flow)
                repos.update(filter(None, (repo_of_commit_url(p.commit_url or "") for p in artifact.provenance)))
    if not histories:
        raise SourceError("no environments to look in: no snapshots yet", hints=GET_SNAPSHOTS)
    envs = ", ".join(histories)
    runs = f"they run {_some('flow', flows)}" if flows else "none of their artifacts names a flow or a commit"
    where = f"; {_some('repository', repos, plural='repositories')}" if repos else ""
    raise SourceError(f"no artifact in {envs} was built from this repository ({runs}{where})")


def _some(noun: str, names: set[str], *, plural: str | None = None) -> str:
    """`flow api-ci`, or `flows api-ci, web-ci`: the noun agrees with the names that follow it."""
    word = noun if len(names) == 1 else plural or f"{noun}s"
    return f"{word} {', '.join(sorted(names))}"
