"""Turn Kosli's JSON shapes into the model's records.

Shared by `git kosli snapshot import` (the JSON `kosli get snapshot --output json`
prints) and the API client (the same body), so both read what Kosli sends the same way.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any, TypeGuard

from git_kosli.errors import SourceError
from git_kosli.model import (
    ENV_NAME_PATTERN,
    MAX_INDEX,
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
    """One item of `GET /snapshots/{org}/{env}`: its number and start time (`from`, 0 when not known).

    Raises:
        SourceError: the item is not a summary of a snapshot (names what is wrong).
    """
    index = item.get("index") if isinstance(item, Mapping) else None
    if not _is_count(index):
        raise SourceError(f"Kosli listed a snapshot without a valid 'index' (a number from 1): {_shown(index)}")
    start = item.get("from")
    if start is not None and not is_time(start):
        raise SourceError(f"Kosli listed snapshot #{index} with 'from' {_shown(start)}, which is not a time")
    return SnapshotSummary(index=index, timestamp=float(start or 0))


def _shown(value: Any) -> str:
    """A value from outside, as an error may quote it: short, clean, its JSON spelling (or its kind)."""
    if isinstance(value, Mapping | list):
        return "an object" if isinstance(value, Mapping) else "a list"
    return clean_text(json.dumps(value, default=str))[:60]


def snapshot_from_json(data: Any, env: EnvName) -> Snapshot:
    """A snapshot from the API's `GetSnapshotResponse`: its running artifacts only.

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
    """One artifact entry, or None when it exited in this snapshot (`annotation.now == 0`)."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("fingerprint"), str):
        raise SourceError(f"snapshot #{index}: an artifact has no 'fingerprint'")
    fingerprint = raw["fingerprint"].lower()
    if fingerprint and not is_fingerprint(fingerprint):
        raise SourceError(
            f"snapshot #{index}: fingerprint '{clean_text(fingerprint)[:80]}' is not 64 hex digits (a SHA-256)"
        )
    stamps = raw.get("creationTimestamp")
    started = [t for t in stamps if is_time(t)] if isinstance(stamps, list) else []
    annotation = raw.get("annotation") if isinstance(raw.get("annotation"), Mapping) else None
    instances = annotation.get("now") if annotation is not None else len(started)
    if not _is_count(instances):
        return None
    compliant = raw.get("compliant")
    name = raw.get("name")
    return Artifact(
        name=clean_text(name if isinstance(name, str) and name else fingerprint) or "(no name)",
        fingerprint=Fingerprint(fingerprint),
        provenance=_provenance(raw),
        instances=instances,
        compliant=compliant if isinstance(compliant, bool) else None,
        started_at=float(min(started)) if started else None,
    )


def _is_count(value: object) -> TypeGuard[int]:
    """True for a whole number from 1 (a snapshot number, a count of instances); never a bool."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_INDEX


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


@dataclass
class _Running:
    name: str
    instances: int
    compliant: bool | None
    started_at: float | None


def snapshots_from_events(
    env: EnvName, events: Sequence[Mapping[str, Any]], provenance: Mapping[str, tuple[Provenance, ...]]
) -> list[Snapshot]:
    """Replay an environment's event log (oldest first) into its snapshots, as Kosli's own consumers do.

    A `started-*` event opens a fingerprint, `exited` closes it, the others update its
    instance count or compliance; each snapshot is the running set after its events. An
    artifact whose state no event touched is the same object as in the snapshot before.
    """
    running: dict[str, _Running] = {}
    unchanged: dict[str, Artifact] = {}
    snapshots: list[Snapshot] = []
    for index, group in groupby(events, key=lambda e: e.get("snapshot_index")):
        if not isinstance(index, int) or index < 1:
            raise SourceError("an environment event has no valid 'snapshot_index'")
        batch = list(group)
        for event in batch:
            unchanged.pop(_apply(running, event), None)
        times = [float(e["reported_at"]) for e in batch if isinstance(e.get("reported_at"), int | float)]
        compliance = batch[-1].get("snapshot_compliance")
        artifacts = []
        for fp, state in running.items():
            artifact = unchanged.get(fp)
            if artifact is None:
                artifact = unchanged[fp] = Artifact(
                    name=state.name,
                    fingerprint=Fingerprint(fp),
                    provenance=provenance.get(fp, ()),
                    instances=state.instances,
                    compliant=state.compliant,
                    started_at=state.started_at,
                )
            artifacts.append(artifact)
        snapshots.append(
            Snapshot(
                ref=SnapshotRef(env, index),
                timestamp=min(times) if times else 0.0,
                artifacts=tuple(artifacts),
                compliant=compliance if isinstance(compliance, bool) else None,
            )
        )
    return snapshots


def events_from_json(items: Sequence[Any]) -> list[Mapping[str, Any]]:
    """The events of `GET /environments/{org}/{env}/events`, checked before anything keeps them.

    Each is an object with a snapshot number, a fingerprint that is 64 hex digits (or empty or
    null: an artifact without a digest) and times that are times; anything else is refused whole,
    so a bad event is never cached to break every later command.

    Raises:
        SourceError: naming the first event that is wrong and how.
    """
    for item in items:
        if not isinstance(item, Mapping):
            raise SourceError(f"Kosli sent an event that is not an object: {_shown(item)}")
        index = item.get("snapshot_index")
        if not _is_count(index):
            raise SourceError(f"Kosli sent an event without a valid 'snapshot_index': {_shown(index)}")
        fingerprint = item.get("sha256")
        if fingerprint is not None and not (
            isinstance(fingerprint, str) and (not fingerprint or is_fingerprint(fingerprint.lower()))
        ):
            raise SourceError(f"Kosli sent an event of snapshot #{index} whose 'sha256' is not 64 hex digits")
        reported = item.get("reported_at")
        if reported is not None and not is_time(reported):
            raise SourceError(f"Kosli sent an event of snapshot #{index} whose 'reported_at' is not a time")
    return list(items)


def _apply(running: dict[str, _Running], event: Mapping[str, Any]) -> str:
    """Apply one event to the running set; returns the fingerprint it is about."""
    fingerprint = event.get("sha256") or event.get("fingerprint")
    if not isinstance(fingerprint, str):
        raise SourceError(f"an event of snapshot #{event.get('snapshot_index')} has no fingerprint ('sha256')")
    kind = str(event.get("type") or "")
    counts = _FROM_TO.search(str(event.get("description") or ""))
    now = int(counts.group(2)) if counts else None
    if kind == "exited" or now == 0:
        running.pop(fingerprint, None)
        return fingerprint
    compliant = event.get("artifact_compliance")
    state = running.get(fingerprint)
    if state is None:
        reported = event.get("reported_at")
        state = running[fingerprint] = _Running(
            name=clean_text(str(event.get("artifact_name") or fingerprint)),
            instances=now or 1,
            compliant=None,
            started_at=float(reported) if isinstance(reported, int | float) else None,
        )
    elif now is not None:
        state.instances = now
    if isinstance(compliant, bool):
        state.compliant = compliant
    return fingerprint


def flows_of_events(events: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """The flows each fingerprint was reported to, primary first, as the events name them (none for a rogue)."""
    flows: dict[str, dict[str, None]] = {}
    for event in events:
        fingerprint = event.get("sha256")
        if not isinstance(fingerprint, str):
            continue
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
