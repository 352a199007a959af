"""`git kosli snapshot list|show` as text and JSON. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from git_kosli.model import Artifact, Snapshot, short
from git_kosli.views.json import document, shown_json, snapshot_json
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


def show_text(snap: Snapshot, flows: Sequence[str | None]) -> str:
    """The snapshot's start and a row per running artifact, as `kosli get snapshot` prints them.

    `flows`: the flow to name for each artifact (this repository's, else the one that builds it).
    """
    rows = [
        [
            _commit(a, flow),
            a.name,
            a.fingerprint[:12] or "-",
            flow or ("N/A (no provenance)" if a.rogue else "N/A"),
            _compliance(a.compliant),
            "?" if a.instances is None else str(a.instances),
        ]
        for a, flow in zip(snap.artifacts, flows, strict=True)
    ]
    heading = f"{mark(str(snap.ref), Style.SNAPSHOT)} from {iso_utc(snap.timestamp)}"
    return heading + "\n" + table(rows, ["commit", "artifact", "fingerprint", "flow", "compliant", "replicas"])


def _commit(artifact: Artifact, flow: str | None) -> str:
    commit = shown_json(artifact, flow)["git_commit"]
    return short(commit) if commit else "N/A"


def show_json(snap: Snapshot, flows: Sequence[str | None]) -> str:
    """The `git kosli snapshot show --json` document: the snapshot and every artifact running in it.

    `flows`: the flow to name for each artifact; `provenance` lists every flow, as Kosli does.
    """
    return document(
        **(snapshot_json(snap) or {}),
        compliant=snap.compliant,
        artifacts=[_artifact(a, flow) for a, flow in zip(snap.artifacts, flows, strict=True)],
    )


def _artifact(artifact: Artifact, flow: str | None) -> dict[str, Any]:
    return {
        **shown_json(artifact, flow),
        "provenance": [
            {"flow": p.flow, "git_commit": p.git_commit, "commit_url": p.commit_url} for p in artifact.provenance
        ],
        "instances": artifact.instances,
        "compliant": artifact.compliant,
        "rogue": artifact.rogue,
        "running_since": iso_utc(artifact.started_at),
    }
