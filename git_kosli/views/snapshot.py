"""`git kosli snapshot list|show` as text and JSON. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from git_kosli.model import Artifact, Snapshot, short
from git_kosli.views.json import artifact_json, document, snapshot_json
from git_kosli.views.text import Style, iso_utc, mark, table


def _compliance(value: bool | None) -> str:  # noqa: FBT001 - converts the one value it is given
    return "N/A" if value is None else ("yes" if value else "no")


def list_text(history: Sequence[Snapshot]) -> str:
    """A row per snapshot: number, start, artifacts running, compliance."""
    rows = [
        [f"#{s.index}", iso_utc(s.timestamp) or "", str(len(s.artifacts)), _compliance(s.compliant)] for s in history
    ]
    return table(rows, ["snapshot", "from", "artifacts", "compliant"])


def list_json(env: str, history: Sequence[Snapshot]) -> str:
    """The `git kosli snapshot list --json` document: each snapshot, newest first, with a count of what ran."""
    return document(
        environment=env,
        snapshots=[
            {**(snapshot_json(s) or {}), "artifacts": len(s.artifacts), "compliant": s.compliant} for s in history
        ],
    )


def show_text(snap: Snapshot) -> str:
    """The snapshot's start and a row per running artifact, as `kosli get snapshot` prints them."""
    rows = [
        [
            short(a.provenance[0].git_commit) if a.provenance and a.provenance[0].git_commit else "N/A",
            a.name,
            a.fingerprint[:12],
            a.flow or "N/A (no provenance)",
            _compliance(a.compliant),
            str(a.instances),
        ]
        for a in snap.artifacts
    ]
    heading = f"{mark(str(snap.ref), Style.SNAPSHOT)} from {iso_utc(snap.timestamp)}"
    return heading + "\n" + table(rows, ["commit", "artifact", "fingerprint", "flow", "compliant", "replicas"])


def show_json(snap: Snapshot) -> str:
    """The `git kosli snapshot show --json` document: the snapshot and every artifact running in it."""
    return document(
        **(snapshot_json(snap) or {}),
        compliant=snap.compliant,
        artifacts=[_artifact(a) for a in snap.artifacts],
    )


def _artifact(artifact: Artifact) -> dict[str, Any]:
    return {
        **artifact_json(artifact),
        "provenance": [
            {"flow": p.flow, "git_commit": p.git_commit, "commit_url": p.commit_url} for p in artifact.provenance
        ],
        "instances": artifact.instances,
        "compliant": artifact.compliant,
        "rogue": artifact.rogue,
        "running_since": iso_utc(artifact.started_at),
    }
