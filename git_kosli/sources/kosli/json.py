"""Turn Kosli's JSON shapes into the model's records.

Shared by `git kosli snapshot import` (the JSON `kosli get snapshot --output json`
prints) and the API client (the same body), so both read what Kosli sends the same way.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple, TypeGuard

from git_kosli.errors import SourceError
from git_kosli.model import (
    ENV_NAME_PATTERN,
    MAX_INDEX,
    NO_FINGERPRINT,
    Artifact,
    EnvName,
    Fingerprint,
    FlowArtifact,
    Provenance,
    Snapshot,
    SnapshotRef,
    SnapshotSummary,
    clean_text,
    commit_sha_or_none,
    is_fingerprint,
    is_time,
)


def loads_strict(data: bytes | str) -> Any:
    """JSON as Kosli writes it: UTF-8, finite numbers only, not nested past what Python can read.

    Raises:
        ValueError: saying what is wrong, in a few words (the caller names the document).
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as error:
        raise ValueError(f"not UTF-8 (byte {error.start})") from None
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except json.JSONDecodeError as error:
        raise ValueError(f"{error.msg} at line {error.lineno} column {error.colno}") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"'{name}' is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is out of range")
    return value


def environment_name_or_none(item: Any) -> EnvName | None:
    """The name of one environment of a listing, when it is a name Kosli allows; None for anything else.

    A name that breaks Kosli's rules (a control character, a `#`) could not be asked about anyway,
    and must never reach a terminal, a note or a completion list.
    """
    name = item.get("name") if isinstance(item, Mapping) else None
    return EnvName(name) if isinstance(name, str) and ENV_NAME_PATTERN.match(name) else None


def summary_from_json(item: Any) -> SnapshotSummary:
    """One item of `GET /snapshots/{org}/{env}`: its number, start time (`from`, 0 when not known) and compliance.

    Raises:
        SourceError: the item is not a summary of a snapshot (names what is wrong).
    """
    index = item.get("index") if isinstance(item, Mapping) else None
    if not _is_count(index):
        raise SourceError(f"Kosli listed a snapshot without a valid 'index' (a number from 1): {_shown(index)}")
    start = item.get("from")
    if start is not None and not is_time(start):
        raise SourceError(f"Kosli listed snapshot #{index} with 'from' {_shown(start)}, which is not a time")
    compliant = item.get("compliant")
    return SnapshotSummary(index, float(start or 0), compliant if isinstance(compliant, bool) else None)


def _shown(value: Any) -> str:
    """A value from outside, as an error may quote it: short, clean, its JSON spelling (or its kind)."""
    if isinstance(value, Mapping | list):
        return "an object" if isinstance(value, Mapping) else "a list"
    return clean_text(json.dumps(value, default=str))[:60]


def snapshot_from_json(data: Any, env: EnvName) -> Snapshot:
    """A snapshot from the API's `GetSnapshotResponse`: its running artifacts only (see `_artifact`).

    Raises:
        SourceError: when the document is not a snapshot (names what is missing).
    """
    if not isinstance(data, Mapping):
        raise SourceError(f"expected a snapshot object, got {type(data).__name__}")
    index = data.get("index")
    if not _is_count(index):
        raise SourceError("snapshot has no valid 'index' (a number from 1)")
    timestamp = data.get("timestamp")
    if not is_time(timestamp):
        raise SourceError(f"snapshot #{index} has no 'timestamp' that is a time (seconds since 1970)")
    raw_artifacts = data.get("artifacts") or []
    if not isinstance(raw_artifacts, list):
        raise SourceError(f"snapshot #{index}: 'artifacts' is not a list")
    running = tuple(a for a in (_artifact(raw, index) for raw in raw_artifacts) if a is not None)
    compliant = data.get("compliant")
    return Snapshot(
        ref=SnapshotRef(env, index),
        timestamp=float(timestamp),
        artifacts=running,
        compliant=compliant if isinstance(compliant, bool) else None,
    )


def _artifact(raw: Any, index: int) -> Artifact | None:
    """One running artifact, or None when it is not running.

    As the Kosli CLI reads a snapshot: an artifact whose `annotation.now` is 0 exited in this
    snapshot, and one with no `annotation` at all counts as 0 (the Go zero value), so both are
    left out. An artifact reported without a digest (`fingerprint: ""`) is kept, known by its name.
    """
    if not isinstance(raw, Mapping):
        raise SourceError(f"snapshot #{index}: an artifact is not an object")
    name, fingerprint = _name_and_fingerprint(raw, "name", "fingerprint", f"snapshot #{index}: an artifact")
    annotation = raw.get("annotation")
    instances = annotation.get("now") if isinstance(annotation, Mapping) else 0
    if not _is_count(instances):
        return None
    stamps = raw.get("creationTimestamp")
    started = [t for t in stamps if is_time(t)] if isinstance(stamps, list) else []
    compliant = raw.get("compliant")
    return Artifact(
        name=name,
        fingerprint=fingerprint,
        provenance=_provenance(raw),
        instances=instances,
        compliant=compliant if isinstance(compliant, bool) else None,
        started_at=float(min(started)) if started else None,
    )


def _is_count(value: object) -> TypeGuard[int]:
    """True for a whole number from 1 (a snapshot number, a count of instances); never a bool."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_INDEX


def _name_and_fingerprint(raw: Mapping[str, Any], name_key: str, key: str, what: str) -> tuple[str, Fingerprint]:
    """An artifact's name and fingerprint; `NO_FINGERPRINT` for one reported without a digest (`""` or null).

    Raises:
        SourceError: a fingerprint that is not 64 hex digits, or neither a name nor a fingerprint.
    """
    fingerprint = raw.get(key)
    if fingerprint is not None and not isinstance(fingerprint, str):
        raise SourceError(f"{what} has a '{key}' that is not a string")
    fingerprint = (fingerprint or "").lower()
    if fingerprint and not is_fingerprint(fingerprint):
        raise SourceError(f"{what}: fingerprint '{clean_text(fingerprint)[:80]}' is not 64 hex digits (a SHA-256)")
    name = raw.get(name_key)
    name = clean_text(name if isinstance(name, str) and name else fingerprint)
    if not name:
        raise SourceError(f"{what} has neither a name ('{name_key}') nor a fingerprint ('{key}')")
    return name, Fingerprint(fingerprint or NO_FINGERPRINT)


def _provenance(raw: Mapping[str, Any]) -> tuple[Provenance, ...]:
    """Every flow the fingerprint was reported to; the top-level flow when `flows` is absent."""
    flows = raw.get("flows")
    entries = flows if isinstance(flows, list) and flows else [raw]
    out = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        flow = entry.get("flow_name") or entry.get("flow") or ""
        commit = entry.get("git_commit")
        commit = commit_sha_or_none(commit) if isinstance(commit, str) else None
        url = entry.get("commit_url")
        url = clean_text(url) if isinstance(url, str) and url else None
        if flow or commit:
            out.append(Provenance(clean_text(str(flow)), commit, url, _previous_fingerprint(entry)))
    return tuple(out)


def _previous_fingerprint(entry: Mapping[str, Any]) -> str | None:
    """Kosli's word on the artifact this one followed in the flow (`deployment_diff.previous_fingerprint`)."""
    diff = entry.get("deployment_diff")
    previous = diff.get("previous_fingerprint") if isinstance(diff, Mapping) else None
    return previous.lower() if isinstance(previous, str) and is_fingerprint(previous.lower()) else None


_FROM_TO = re.compile(r"from (\d{1,9}) to (\d{1,9})")


class _Event(NamedTuple):
    """One environment event, checked: what it says about one artifact in one snapshot."""

    snapshot: int
    key: str  # the artifact's identity: its fingerprint, or its name when it has no digest (Artifact.identity)
    name: str
    fingerprint: Fingerprint
    now: int | None  # the instance count, when the description states it ("from 1 to 3")
    compliant: bool | None
    snapshot_compliant: bool | None
    reported_at: float | None


def _event(raw: Any) -> _Event:
    """An event of `GET /environments/{org}/{env}/events`, or SourceError naming what is wrong."""
    if not isinstance(raw, Mapping):
        raise SourceError(f"Kosli sent an event that is not an object: {_shown(raw)}")
    index = raw.get("snapshot_index")
    if not _is_count(index):
        raise SourceError(f"Kosli sent an event without a valid 'snapshot_index': {_shown(index)}")
    what = f"Kosli's event of snapshot #{index}"
    name, fingerprint = _name_and_fingerprint(raw, "artifact_name", "sha256", what)
    reported = raw.get("reported_at")
    if reported is not None and not is_time(reported):
        raise SourceError(f"Kosli sent an event of snapshot #{index} whose 'reported_at' is not a time")
    counts = _FROM_TO.search(str(raw.get("description") or ""))
    now = 0 if raw.get("type") == "exited" else int(counts.group(2)) if counts else None
    compliant, snapshot_compliant = raw.get("artifact_compliance"), raw.get("snapshot_compliance")
    return _Event(
        snapshot=index,
        key=fingerprint or name,
        name=name,
        fingerprint=fingerprint,
        now=now,
        compliant=compliant if isinstance(compliant, bool) else None,
        snapshot_compliant=snapshot_compliant if isinstance(snapshot_compliant, bool) else None,
        reported_at=None if reported is None else float(reported),
    )


def events_from_json(items: Sequence[Any]) -> list[Mapping[str, Any]]:
    """The events of `GET /environments/{org}/{env}/events`, checked before anything keeps them.

    Each must read as `_event` reads it: an object with a snapshot number, a fingerprint that is
    64 hex digits (or empty or null: an artifact without a digest) or at least a name, and times
    that are times; anything else is refused whole, so a bad event is never cached to break
    every later command.

    Raises:
        SourceError: naming the first event that is wrong and how.
    """
    for item in items:
        _event(item)
    return list(items)


def replay_history(
    env: EnvName,
    summaries: Sequence[SnapshotSummary],
    events: Iterable[Mapping[str, Any]],
    provenance: Mapping[str, tuple[Provenance, ...]],
    exact: Mapping[int, Snapshot] | None = None,
) -> list[Snapshot]:
    """An environment's snapshots, oldest first, from its snapshot list and its event log.

    Every listed index gets a snapshot, with the list's start time and compliance; a snapshot
    with no events (an empty first report, a compliance-only change) runs what the one before
    it ran. Events change the running set: `exited` (or "to 0") removes an artifact, any other
    event adds or replaces it. An event states an instance count only as "from X to Y": the
    "N instance(s) changed" of `changed`, `updated-provenance` and `became-*` events leaves the
    count unknown, and no event gives a start time. A fetched snapshot (`exact`) stands for its
    index as it is and replaces the running set, so its counts and start times carry on until
    an event touches the artifact. An artifact no event touched is the same object as in the
    snapshot before. Raises SourceError on an event that cannot be read, before anything is kept.
    """
    by_index: dict[int, list[_Event]] = {}
    for raw in events:
        event = _event(raw)
        by_index.setdefault(event.snapshot, []).append(event)
    listed = {s.index: s for s in summaries}
    exact = exact or {}
    running: dict[str, Artifact] = {}
    snapshots: list[Snapshot] = []
    timestamp = 0.0
    for index in sorted(listed.keys() | by_index.keys() | exact.keys()):
        fetched = exact.get(index)
        if fetched is not None:
            running = {a.identity: a for a in fetched.artifacts}
            snapshots.append(fetched)
            timestamp = fetched.timestamp
            continue
        batch = by_index.get(index, [])
        for event in batch:
            _apply(running, event, provenance)
        summary = listed.get(index)
        times = [e.reported_at for e in batch if e.reported_at is not None]
        timestamp = summary.timestamp if summary and summary.timestamp else min(times, default=timestamp)  # 0: unknown
        compliant = summary.compliant if summary else next((e.snapshot_compliant for e in reversed(batch)), None)
        snapshots.append(Snapshot(SnapshotRef(env, index), timestamp, tuple(running.values()), compliant))
    return snapshots


def _apply(running: dict[str, Artifact], event: _Event, provenance: Mapping[str, tuple[Provenance, ...]]) -> None:
    """One event's change to the running set: what it does not state becomes unknown."""
    if event.now == 0:
        running.pop(event.key, None)
        return
    before = running.get(event.key)
    running[event.key] = Artifact(
        name=event.name,
        fingerprint=event.fingerprint,
        provenance=provenance.get(event.fingerprint, ()) if event.fingerprint else (),
        instances=event.now,
        compliant=event.compliant if event.compliant is not None else before.compliant if before else None,
        started_at=None,
    )


def flows_of_events(events: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """The flows each fingerprint was reported to, primary first, as the events name them (none for a rogue)."""
    flows: dict[str, dict[str, None]] = {}
    for event in events:
        fingerprint = event.get("sha256")
        if not isinstance(fingerprint, str) or not fingerprint:
            continue  # an artifact without a digest: no flow can have reported it
        flows_field = event.get("flows")
        flows_field = flows_field if isinstance(flows_field, list) else []
        names = [clean_text(str(f["flow_name"])) for f in flows_field if isinstance(f, Mapping) and f.get("flow_name")]
        if not names and event.get("pipeline"):
            names = [clean_text(str(event["pipeline"]))]
        flows.setdefault(fingerprint, {}).update(dict.fromkeys(names))
    return {fp: list(names) for fp, names in flows.items()}


def provenance_from_listing(flow: str, item: Any) -> tuple[Fingerprint, Provenance] | None:
    """A fingerprint and its commit from one item of `GET /artifacts/{org}?flow_name=FLOW`."""
    if not isinstance(item, Mapping) or not isinstance(item.get("fingerprint"), str):
        return None
    fingerprint = item["fingerprint"].lower()
    if not is_fingerprint(fingerprint):
        return None
    url, commit = item.get("commit_url"), item.get("git_commit")
    return Fingerprint(fingerprint), Provenance(
        flow=flow,
        git_commit=commit_sha_or_none(commit) if isinstance(commit, str) else None,
        commit_url=clean_text(url) if isinstance(url, str) and url else None,
    )


_FLOW_IN_URL = re.compile(r"/flows/([^/?#]+)/artifacts/")


def is_artifact_listing(document: Any) -> bool:
    """True for what `kosli list artifacts --output json` prints: a list of artifacts, not of snapshots."""
    return (
        isinstance(document, list)
        and bool(document)
        and all(isinstance(i, Mapping) and "fingerprint" in i and "index" not in i for i in document)
    )


def build_from_listing(item: Any, flow: str | None = None) -> FlowArtifact:
    """One build from an item of `GET /artifacts/{org}?flow_name=FLOW` (newest first; `created_at` a number or text).

    The flow is `flow` when given, else the item's own `flow_name`, else the one its `html_url` names.

    Raises:
        SourceError: when the item is not an artifact, or its flow cannot be told.
    """
    fingerprint = item.get("fingerprint") if isinstance(item, Mapping) else None
    if not isinstance(fingerprint, str) or not is_fingerprint(fingerprint.lower()):
        raise SourceError(f"an artifact of the listing has no 'fingerprint' of 64 hex digits: {_shown(fingerprint)}")
    assert isinstance(item, Mapping)
    named = _FLOW_IN_URL.search(str(item.get("html_url") or ""))
    flow = flow or item.get("flow_name") or (named.group(1) if named else None)
    if not isinstance(flow, str) or not flow:
        raise SourceError(f"artifact {fingerprint[:12]} does not say its flow; name it with --flow FLOW")
    url, commit, name = item.get("commit_url"), item.get("git_commit"), item.get("filename") or item.get("name")
    return FlowArtifact(
        flow=clean_text(flow),
        name=clean_text(name if isinstance(name, str) else fingerprint),
        fingerprint=Fingerprint(fingerprint.lower()),
        git_commit=commit_sha_or_none(commit) if isinstance(commit, str) else None,
        commit_url=clean_text(url) if isinstance(url, str) and url else None,
        created_at=_created(item.get("created_at")),
    )


def _created(value: Any) -> float | None:
    """`created_at`: a time in seconds, as a number or as text (the Kosli CLI reads both); None for anything else."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    return float(value) if is_time(value) else None
