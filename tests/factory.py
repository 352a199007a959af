"""Snapshots and stores for tests, built from real commits."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from git_kosli.model import Artifact, CommitSha, EnvName, Fingerprint, Provenance, Snapshot, SnapshotRef
from git_kosli.sources.store import Store, store_path

T0 = 1_790_000_000.0


def fingerprint(seed: str) -> Fingerprint:
    """A deterministic SHA-256 fingerprint."""
    return Fingerprint(hashlib.sha256(seed.encode()).hexdigest())


def artifact(
    commit: str | None,
    name: str = "web",
    *,
    flow: str | None = None,
    url: str | None = None,
    compliant: bool | None = True,
) -> Artifact:
    """An artifact built from `commit` (None: no provenance) and reported to `flow` (default `NAME-ci`)."""
    provenance = () if commit is None else (Provenance(flow or f"{name}-ci", CommitSha(commit), url),)
    return Artifact(
        name=f"registry.example/{name}:{(commit or 'rogue')[:7]}",
        fingerprint=fingerprint(f"{name} {commit}"),
        provenance=provenance,
        compliant=compliant,
    )


def history(env: str, states: Sequence[Iterable[Artifact]], *, start: int = 1) -> list[Snapshot]:
    """Consecutive snapshots of one environment, an hour apart, from `start`."""
    return [
        Snapshot(SnapshotRef(EnvName(env), start + i), T0 + (start + i) * 3600, tuple(arts))
        for i, arts in enumerate(states)
    ]


def seed(repo_path: Path, *snapshots: Snapshot) -> Path:
    """Put snapshots in the repository's embedded store; returns the database path."""
    common = Path(repo_path) / ".git" if (Path(repo_path) / ".git").is_dir() else Path(repo_path)
    path = store_path(common)
    with Store(path) as store:
        store.put_snapshots(snapshots)
    return path
