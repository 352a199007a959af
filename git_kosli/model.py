"""The domain's values: identifiers and the records every layer passes around.

Standard library only, so any layer may import it. Records without a field that
would shadow a tuple method (`index`) are named tuples: a history makes thousands of
artifacts, and a named tuple is faster to make and about 1 ms faster to import than a
frozen dataclass, on every command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple, NewType, TypeGuard

CommitSha = NewType("CommitSha", str)
EnvName = NewType("EnvName", str)
Fingerprint = NewType("Fingerprint", str)
NO_FINGERPRINT = Fingerprint("")
"""The fingerprint of an artifact reported without a digest (a tag-pinned image from the ECS or Cloud Run
reporters: Kosli keeps `fingerprint: ""` and events with `sha256: null`). Such an artifact is known by its
name only: no flow can have reported it, so it has no provenance, and it is not rogue for that alone."""

_FULL_ID = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")  # SHA-1, or SHA-256 (`git init --object-format=sha256`)
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")
ENV_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9.\-_]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """Text from outside (a server, a file, a commit) without control characters, line breaks or bidi overrides.

    No escape sequence reaches the terminal, and no newline forges a second line in a note or a message.
    """
    return text if text.isprintable() else _CONTROL.sub("", text)


def commit_sha_or_none(text: str | None) -> CommitSha | None:
    """A full lowercase commit name (40 hex digits, 64 in a SHA-256 repository), or None for anything else."""
    if text and _FULL_ID.match(text.lower()):
        return CommitSha(text.lower())
    return None


def is_fingerprint(text: str) -> bool:
    """True for a 64-hex SHA-256 fingerprint."""
    return bool(_FINGERPRINT.match(text))


def short(sha: str) -> str:
    """The 7-character abbreviation git and Kosli print."""
    return sha[:7]


def display_name(name: str) -> str:
    """An artifact's name without registry and digest: `runner:6a29198` for `123.dkr.ecr…/runner:6a29198@sha256:…`."""
    return name.split("@sha256:")[0].rsplit("/", 1)[-1] or name


class Divergence(NamedTuple):
    """How two commits OLD and NEW differ: the commits only OLD has, and those only NEW has."""

    old_only: int
    new_only: int


class Provenance(NamedTuple):
    """One flow an artifact was reported to, with the commit that flow says built it.

    `previous_fingerprint` is Kosli's own word (`deployment_diff`) on the artifact this one followed in the flow.
    """

    flow: str
    git_commit: CommitSha | None
    commit_url: str | None = None
    previous_fingerprint: str | None = None


class Artifact(NamedTuple):
    """An artifact running in a snapshot.

    `provenance` lists every flow the fingerprint was reported to (CI, promotion, scans), in
    whatever order Kosli lists them: nothing may depend on that order (`pairing` says which entry
    is this repository's). An empty tuple means no provenance: a rogue artifact, unless the
    artifact has no fingerprint at all (`NO_FINGERPRINT`), when provenance cannot be known.
    `instances` and `started_at` are None when unknown: a history rebuilt from Kosli's events
    knows a count only where an event states it ("from 1 to 3") or a fetched snapshot gives
    it, and a start time (the first `creationTimestamp`) only from a fetched snapshot.
    """

    name: str
    fingerprint: Fingerprint
    provenance: tuple[Provenance, ...] = ()
    instances: int | None = 1
    compliant: bool | None = None
    started_at: float | None = None

    @property
    def rogue(self) -> bool:
        """True when no flow ever reported this fingerprint (never for an artifact without one)."""
        return bool(self.fingerprint) and not any(p.git_commit or p.flow for p in self.provenance)

    @property
    def identity(self) -> str:
        """What tells it from other artifacts: its fingerprint, or its name when it has none (`NO_FINGERPRINT`)."""
        return self.fingerprint or self.name

    @property
    def display_name(self) -> str:
        """The name without registry and digest: `runner:6a29198` for `123.dkr.ecr…/runner:6a29198@sha256:…`."""
        return display_name(self.name)

    @property
    def image(self) -> str:
        """The name without tag or digest: `123.dkr.ecr…/runner` for `123.dkr.ecr…/runner:6a29198@sha256:…`.

        What stays the same from one build of a service to the next (a registry port is kept).
        """
        bare = self.name.split("@", 1)[0]
        head, slash, last = bare.rpartition("/")
        return f"{head}{slash}{last.split(':', 1)[0]}" or self.name


class FlowArtifact(NamedTuple):
    """One build as its flow lists it, deployed or not (`GET /artifacts/{org}?flow_name=…`, `build record`)."""

    flow: str
    name: str
    fingerprint: Fingerprint
    git_commit: CommitSha | None
    commit_url: str | None = None
    created_at: float | None = None  # when the flow recorded it


@dataclass(frozen=True, order=True)
class SnapshotRef:
    """A numbered snapshot of an environment, printed as Kosli prints it: `env#N`."""

    env: EnvName
    index: int

    def __str__(self) -> str:
        return f"{self.env}#{self.index}"


@dataclass(frozen=True)
class Snapshot:
    """What ran in an environment from `timestamp` until the next snapshot."""

    ref: SnapshotRef
    timestamp: float
    artifacts: tuple[Artifact, ...] = field(default=())
    compliant: bool | None = None

    @property
    def env(self) -> EnvName:
        """The environment this snapshot belongs to."""
        return self.ref.env

    @property
    def index(self) -> int:
        """The snapshot's number, from 1."""
        return self.ref.index


@dataclass(frozen=True)
class SnapshotSummary:
    """A snapshot's number and start time, without its artifacts: enough to resolve expressions."""

    index: int
    timestamp: float
    compliant: bool | None = None


LATEST_TIME = 253402300799.0  # 9999-12-31T23:59:59Z: the last second a date can show
MAX_INDEX = 1 << 53  # snapshot numbers and counts past this are not numbers anyone reported


def is_time(value: object) -> TypeGuard[float]:
    """True for a Unix time a snapshot can have: a finite number of seconds from 1970 to the year 9999."""
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= LATEST_TIME


def snapshot_problem(snapshot: Snapshot) -> str | None:
    """What makes a snapshot unfit to keep (stored, cached, shown); None when nothing does.

    The one check every snapshot passes before the store or the cache holds it, whatever made it:
    an import, `snapshot record`, a Kosli answer. Names must be clean text, fingerprints 64 hex
    digits (or empty, for an artifact without a digest), commits full ids, times real times.
    """
    if not ENV_NAME_PATTERN.match(snapshot.env):
        return f"'{clean_text(snapshot.env)}' is not an environment name Kosli allows"
    if not (isinstance(snapshot.index, int) and 1 <= snapshot.index <= MAX_INDEX):
        return f"snapshot number {snapshot.index!r} is not a number from 1"
    if not is_time(snapshot.timestamp):
        return f"timestamp {snapshot.timestamp!r} is not a time"
    for artifact in snapshot.artifacts:
        problem = _artifact_problem(artifact)
        if problem:
            return f"artifact '{clean_text(artifact.name)[:100]}': {problem}"
    return None


def _artifact_problem(artifact: Artifact) -> str | None:
    if not artifact.name or clean_text(artifact.name) != artifact.name:
        return "a name must be text without control characters"
    if artifact.fingerprint and not is_fingerprint(artifact.fingerprint):
        return f"fingerprint '{clean_text(artifact.fingerprint)[:80]}' is not 64 hex digits"
    count = artifact.instances
    if count is not None and not (isinstance(count, int) and 1 <= count <= MAX_INDEX):
        return f"instances {count!r} is not a count (nor None: unknown)"
    if artifact.started_at is not None and not is_time(artifact.started_at):
        return f"start time {artifact.started_at!r} is not a time"
    for entry in artifact.provenance:
        if clean_text(entry.flow) != entry.flow or clean_text(entry.commit_url or "") != (entry.commit_url or ""):
            return "a flow or commit URL holds control characters"
        if entry.git_commit is not None and not _FULL_ID.match(entry.git_commit):
            return f"commit '{clean_text(entry.git_commit)[:80]}' is not a full commit id"
    return None
