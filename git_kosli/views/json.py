"""The shapes every `--json` document shares, spelt one way (`git_kosli/schema.json` documents them). Pure.

Every document is an object whose first key is `"version": 1`; a snapshot is always
`{"environment", "index", "timestamp"}`, an artifact always `{"name", "fingerprint", "flow",
"git_commit"}`, a commit always `git_commit`. A new key is a compatible change; renaming or
removing one raises the version.
"""

from __future__ import annotations

import json
from typing import Any

from git_kosli.facts import Build
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


def artifact_json(artifact: Artifact, git_commit: str | None, flow: str | None) -> dict[str, Any]:
    """`{"name", "fingerprint", "flow", "git_commit"}`.

    An artifact is reported to several flows (CI, promotion, scans) in no meaningful order, so the
    caller names the flow to show (this repository's entry's, or the one that builds the
    artifact) and the commit (this repository's, or that flow's).
    """
    return {"name": artifact.name, "fingerprint": artifact.fingerprint, "flow": flow, "git_commit": git_commit}


def shown_json(artifact: Artifact, flow: str | None) -> dict[str, Any]:
    """An artifact named with the flow shown for it, and the commit that flow says it was built from."""
    commit = next((p.git_commit for p in artifact.provenance if p.flow == flow and p.git_commit), None)
    return artifact_json(artifact, commit, flow)


def side_json(artifact: Artifact | None, git_commit: str | None, flow: str | None) -> dict[str, Any] | None:
    """One side of a pair: the artifact, or None where there is none (this repository's commit, when known)."""
    if artifact is None:
        return None
    return artifact_json(artifact, git_commit, flow) if git_commit else shown_json(artifact, flow)


def build_json(build: Build | None) -> dict[str, Any] | None:
    """A build of this repository, deployed or not: the artifact's keys, and `deployed`."""
    if build is None:
        return None
    return {
        "name": build.artifact,
        "fingerprint": build.fingerprint,
        "flow": build.flow,
        "git_commit": build.commit,
        "deployed": build.deployed,
    }


def pair_json(related: Related, *, same_env: bool) -> dict[str, Any]:
    """An artifact across two snapshots (paired as `pairing.diff_snapshots` says), as `diff` and `log` show it."""
    return {
        "change": related.change.change.value,
        "name": related.change.name,
        "flow": related.change.flow,
        "old": side_json(related.change.old, related.left_commit, related.change.flow),
        "new": side_json(related.change.new, related.right_commit, related.change.flow),
        "relation": related.relation.value,
        "ahead": related.ahead,
        "behind": related.behind,
        "rollback": same_env and related.relation is Relation.BEHIND,
        "rogue": related.rogue,
        "compliant": not related.non_compliant,
        "missing_commits": list(related.missing),
    }
