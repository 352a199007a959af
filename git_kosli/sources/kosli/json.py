"""Turn Kosli's JSON shapes into the model's records.

Shared by `git kosli snapshot import` (the JSON `kosli get snapshot --output json`
prints) and the API client (the same body), so both read what Kosli sends the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from git_kosli.errors import SourceError
from git_kosli.model import (
    Artifact,
    EnvName,
    Fingerprint,
    Provenance,
    Snapshot,
    SnapshotRef,
    commit_sha_or_none,
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """A server's string with terminal control characters removed, safe to print."""
    return _CONTROL.sub("", text)


def snapshot_from_json(data: Any, env: EnvName) -> Snapshot:
    """A snapshot from the API's `GetSnapshotResponse`: its running artifacts only.

    Raises:
        SourceError: when the document is not a snapshot (names what is missing).
    """
    if not isinstance(data, Mapping):
        raise SourceError(f"expected a snapshot object, got {type(data).__name__}")
    index = data.get("index")
    if not isinstance(index, int) or isinstance(index, bool) or index < 1:
        raise SourceError("snapshot has no valid 'index' (a number from 1)")
    timestamp = data.get("timestamp")
    if not isinstance(timestamp, int | float):
        raise SourceError(f"snapshot #{index} has no numeric 'timestamp'")
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
    started = [t for t in raw.get("creationTimestamp") or [] if isinstance(t, int | float)]
    annotation = raw.get("annotation") if isinstance(raw.get("annotation"), Mapping) else None
    instances = annotation.get("now") if annotation is not None else len(started)
    if not isinstance(instances, int) or instances <= 0:
        return None
    compliant = raw.get("compliant")
    return Artifact(
        name=clean_text(str(raw.get("name") or raw["fingerprint"])),
        fingerprint=Fingerprint(raw["fingerprint"]),
        provenance=_provenance(raw),
        instances=instances,
        compliant=compliant if isinstance(compliant, bool) else None,
        started_at=float(min(started)) if started else None,
    )


def _provenance(raw: Mapping[str, Any]) -> tuple[Provenance, ...]:
    """Every flow the fingerprint was reported to; the top-level flow when `flows` is absent."""
    flows = raw.get("flows")
    entries = flows if isinstance(flows, list) and flows else [raw]
    out = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        flow = entry.get("flow_name") or entry.get("flow") or ""
        commit = commit_sha_or_none(entry.get("git_commit"))
        url = entry.get("commit_url") or None
        if flow or commit:
            out.append(Provenance(flow=clean_text(str(flow)), git_commit=commit, commit_url=url and clean_text(url)))
    return tuple(out)


_FROM_TO = re.compile(r"from (\d+) to (\d+)")


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
        flows_field = event.get("flows") or []
        names = [str(f["flow_name"]) for f in flows_field if isinstance(f, Mapping) and f.get("flow_name")]
        if not names and event.get("pipeline"):
            names = [str(event["pipeline"])]
        flows.setdefault(fingerprint, {}).update(dict.fromkeys(names))
    return {fp: list(names) for fp, names in flows.items()}


def provenance_from_listing(flow: str, item: Any) -> tuple[Fingerprint, Provenance] | None:
    """A fingerprint and its commit from one item of `GET /artifacts/{org}?flow_name=FLOW`."""
    if not isinstance(item, Mapping) or not isinstance(item.get("fingerprint"), str):
        return None
    url = item.get("commit_url")
    return Fingerprint(item["fingerprint"]), Provenance(
        flow=flow, git_commit=commit_sha_or_none(item.get("git_commit")), commit_url=clean_text(url) if url else None
    )
