"""`git kosli where` as text and JSON: a commit's status in each environment. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from git_kosli.locate import FirstBuild, Presence
from git_kosli.model import Artifact, Snapshot, short
from git_kosli.views.json import artifact_json, document, snapshot_json
from git_kosli.views.text import iso_utc, plain, table


def where_json(
    commit: str, presences: Sequence[Presence], build: FirstBuild | None, artifact: Artifact | None = None
) -> str:
    """The `git kosli where --json` document; `artifact`: the one a fingerprint or image named, if one did."""
    return document(
        git_commit=commit,
        environments=[
            {
                "environment": p.env,
                "status": p.status.value,
                "snapshot": snapshot_json(p.latest),
                "artifacts": [artifact_json(a) for a in p.artifacts],
                "first_seen": snapshot_json(p.first_seen),
                "left": snapshot_json(p.left),
            }
            for p in presences
        ],
        first_build=None if build is None else artifact_json(build.artifact, build.commit),
        artifact=None if artifact is None else artifact_json(artifact, commit),
    )


def where_text(
    commit: str, subject: str, presences: Sequence[Presence], build: FirstBuild | None, artifact: Artifact | None = None
) -> str:
    """The artifact asked about (if any), the commit, its first build when never built itself, a row per environment."""

    def since(snapshot: Snapshot | None) -> str:
        return "-" if snapshot is None else f"#{snapshot.index} ({iso_utc(snapshot.timestamp)})"

    header = f"commit {short(commit)} {plain(subject)}"
    if artifact is not None:
        named = f"artifact {artifact.display_name} (fingerprint {short(artifact.fingerprint)}, flow {artifact.flow})"
        header = f"{named}\n{header}"
    if build is not None:
        header += f"\nnever built itself; first build {short(build.commit)} ({build.artifact.display_name})"
    rows = [
        [
            p.env,
            p.status.value,
            since(p.first_seen),
            since(p.left),
            ", ".join(a.display_name for a in p.artifacts) or "-",
        ]
        for p in presences
    ]
    return f"{header}\n\n{table(rows, ['environment', 'status', 'first seen', 'left', 'running as'])}"
