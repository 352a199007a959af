"""`git kosli where` as text and JSON: a commit's status in each environment. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from git_kosli.facts import Build
from git_kosli.locate import Presence, Status
from git_kosli.model import Artifact, Provenance, Snapshot, short
from git_kosli.views.json import artifact_json, build_json, document, snapshot_json
from git_kosli.views.text import fetch_hint, iso_utc, plain, table

Asked = tuple[Artifact, Provenance]
"""The artifact a fingerprint or image named, with this repository's entry of it."""


def where_json(commit: str, presences: Sequence[Presence], build: Build | None, asked: Asked | None = None) -> str:
    """The `git kosli where --json` document.

    `build`: the first build of a commit never built itself; `asked`: the artifact a fingerprint or image named.
    """
    return document(
        git_commit=commit,
        environments=[
            {
                "environment": p.env,
                "status": p.status.value,
                "snapshot": snapshot_json(p.latest),
                "artifacts": [artifact_json(a, entry.git_commit, entry.flow) for a, entry in p.artifacts],
                "first_seen": snapshot_json(p.first_seen),
                "left": snapshot_json(p.left),
                "missing_commits": list(p.missing),
            }
            for p in presences
        ],
        first_build=build_json(build),
        artifact=None if asked is None else artifact_json(asked[0], commit, asked[1].flow),
        missing_commits=_missing(presences),
    )


def _missing(presences: Sequence[Presence]) -> list[str]:
    return list(dict.fromkeys(sha for p in presences for sha in p.missing))


def where_text(
    commit: str,
    subject: str,
    presences: Sequence[Presence],
    build: Build | None,
    asked: Asked | None = None,
    *,
    shallow: bool = False,
) -> str:
    """The artifact asked about (if any), the commit, its first build when never built itself, and its environments.

    A closing `hint:` line says what to fetch when an answer needs commits this clone lacks.
    """

    def since(snapshot: Snapshot | None) -> str:
        return "-" if snapshot is None else f"#{snapshot.index} ({iso_utc(snapshot.timestamp)})"

    header = f"commit {short(commit)} {plain(subject)}"
    if asked is not None:
        artifact, entry = asked
        named = f"artifact {artifact.display_name} (fingerprint {short(artifact.fingerprint)}, flow {entry.flow})"
        header = f"{named}\n{header}"
    if build is not None:
        never = ", never deployed" if not build.deployed else ""
        header += f"\nnever built itself; first build {short(build.commit)} ({build.display}){never}"
    rows = [
        [
            p.env,
            "not fetched" if p.status is Status.UNKNOWN else p.status.value,
            since(p.first_seen),
            since(p.left),
            ", ".join(a.display_name for a, _ in p.artifacts) or "-",
        ]
        for p in presences
    ]
    text = f"{header}\n\n{table(rows, ['environment', 'status', 'first seen', 'left', 'running as'])}"
    hint = fetch_hint(_missing(presences), shallow=shallow)
    return text if hint is None else f"{text}\n\n{hint}"
