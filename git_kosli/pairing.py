"""Pair the artifacts of two snapshots, and tell which of them were built from this repository.

Pure: the repository is reached only through the two callables the caller passes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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
    """An artifact (or a pair of them, same flow or name) seen across two snapshots."""

    change: Change
    old: Artifact | None
    new: Artifact | None

    @property
    def name(self) -> str:
        """The newer artifact's name."""
        return (self.new or self.old).name  # type: ignore[union-attr]

    @property
    def flow(self) -> str | None:
        """The newer artifact's primary flow."""
        return (self.new or self.old).flow  # type: ignore[union-attr]


def diff_snapshots(*, old: Snapshot, new: Snapshot) -> list[ArtifactChange]:
    """Pair artifacts by flow (by name when they have none); same fingerprint means unchanged."""
    old_groups = _group(old.artifacts)
    new_groups = _group(new.artifacts)
    changes: list[ArtifactChange] = []
    for key in [*old_groups, *(k for k in new_groups if k not in old_groups)]:
        olds, news = list(old_groups.get(key, [])), list(new_groups.get(key, []))
        for artifact in [a for a in olds if a.fingerprint in {n.fingerprint for n in news}]:
            twin = next(n for n in news if n.fingerprint == artifact.fingerprint)
            olds.remove(artifact)
            news.remove(twin)
            changes.append(ArtifactChange(Change.UNCHANGED, artifact, twin))
        for before, after in zip(olds, news, strict=False):
            changes.append(ArtifactChange(Change.CHANGED, before, after))
        changes += [ArtifactChange(Change.EXITED, a, None) for a in olds[len(news) :]]
        changes += [ArtifactChange(Change.STARTED, None, a) for a in news[len(olds) :]]
    return changes


def _group(artifacts: Iterable[Artifact]) -> dict[str, list[Artifact]]:
    groups: dict[str, list[Artifact]] = {}
    for artifact in artifacts:
        groups.setdefault(artifact.key, []).append(artifact)
    return groups


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
    """Decides which provenance entry of an artifact belongs to this repository."""

    remotes: frozenset[str]
    has_commit: Callable[[str], bool]
    flow: str | None = None  # this repository's flow (`kosli.flow`), for when commit URLs do not tell
    # by provenance alone: the answer depends on nothing else, and it is asked for every artifact of every snapshot
    _known: dict[tuple[Provenance, ...], Provenance | None] = field(default_factory=dict, compare=False, repr=False)

    def provenance_of(self, artifact: Artifact) -> Provenance | None:
        """The flow entry of this repository.

        The configured flow, else one whose commit URL is a remote here, else one whose commit exists here.
        """
        provenance = artifact.provenance
        if provenance not in self._known:
            self._known[provenance] = self._find(provenance)
        return self._known[provenance]

    def _find(self, provenance: tuple[Provenance, ...]) -> Provenance | None:
        for entry in provenance:
            if entry.git_commit and self.flow is not None and entry.flow == self.flow:
                return entry
        for entry in provenance:
            if entry.git_commit and entry.commit_url and repo_of_commit_url(entry.commit_url) in self.remotes:
                return entry
        for entry in provenance:
            if entry.git_commit and self.has_commit(entry.git_commit):
                return entry
        return None

    def commit_of(self, artifact: Artifact) -> CommitSha | None:
        """The commit this repository built the artifact from, or None."""
        entry = self.provenance_of(artifact)
        return entry.git_commit if entry is not None else None

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
