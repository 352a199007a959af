"""The shapes every `--json` document shares, spelt one way (`git_kosli/schema.json` documents them). Pure.

Every document is an object whose first key is `"version": 1`; a snapshot is always
`{"environment", "index", "timestamp"}`, an artifact always `{"name", "fingerprint", "flow",
"git_commit"}`, a commit always `git_commit`. A new key is a compatible change; renaming or
removing one raises the version.
"""

from __future__ import annotations

import json
from typing import Any

from git_kosli.model import Artifact, EnvName, Snapshot
from git_kosli.ranges import Related, Relation
from git_kosli.views.text import iso_utc

VERSION = 1


def document(**fields: Any) -> str:
    """A command's JSON document, `version` first, as printed."""
    return json.dumps({"version": VERSION, **fields}, indent=2)


def snapshot_json(snapshot: Snapshot | None) -> dict[str, Any] | None:
    """`{"environment", "index", "timestamp"}`, or None."""
    if snapshot is None:
        return None
    return point_json(snapshot.env, snapshot.index, snapshot.timestamp)


def point_json(env: EnvName, index: int, timestamp: float | None) -> dict[str, Any]:
    """A snapshot known by its environment, number and start time."""
    return {"environment": env, "index": index, "timestamp": iso_utc(timestamp)}


def artifact_json(artifact: Artifact, git_commit: str | None = None) -> dict[str, Any]:
    """`{"name", "fingerprint", "flow", "git_commit"}`: the commit given (this repository's), else the provenance's."""
    if git_commit is None:
        git_commit = next((p.git_commit for p in artifact.provenance if p.git_commit), None)
    return {"name": artifact.name, "fingerprint": artifact.fingerprint, "flow": artifact.flow, "git_commit": git_commit}


def side_json(artifact: Artifact | None, git_commit: str | None) -> dict[str, Any] | None:
    """One side of a pair: the artifact, or None where there is none."""
    return None if artifact is None else artifact_json(artifact, git_commit)


def pair_json(related: Related, *, same_env: bool) -> dict[str, Any]:
    """An artifact across two snapshots (paired by flow, then name), as `diff` and `log` show it."""
    return {
        "change": related.change.change.value,
        "name": related.change.name,
        "flow": related.change.flow,
        "old": side_json(related.change.old, related.left_commit),
        "new": side_json(related.change.new, related.right_commit),
        "relation": related.relation.value,
        "ahead": related.ahead,
        "behind": related.behind,
        "rollback": same_env and related.relation is Relation.BEHIND,
        "rogue": related.rogue,
        "compliant": not related.non_compliant,
    }
