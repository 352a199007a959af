"""Turn Kosli's JSON shapes into the model's records.

Shared by `git kosli snapshot import` (the JSON `kosli get snapshot --output json`
prints) and the API client (the same body), so both read what Kosli sends the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
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
        name=str(raw.get("name") or raw["fingerprint"]),
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
            out.append(Provenance(flow=str(flow), git_commit=commit, commit_url=url))
    return tuple(out)
