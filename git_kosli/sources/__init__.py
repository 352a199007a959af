"""Where snapshots come from: one interface, so no command knows whether it talks to Kosli or the store.

The embedded store (`store.py`) and a Kosli org (`kosli/`) both answer it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from git_kosli.model import CommitSha, EnvName, FlowArtifact, Snapshot
from git_kosli.snapshot_expr import SnapshotExpr

if TYPE_CHECKING:
    from git_kosli.facts import Build
    from git_kosli.pairing import RepoMatcher


class Source(Protocol):
    """Environments and their snapshots."""

    def environments(self) -> list[EnvName]:
        """Every environment's name."""
        ...

    def resolve(self, expr: SnapshotExpr) -> Snapshot:
        """The snapshot an expression names, with its running artifacts."""
        ...

    def resolve_all(self, exprs: Sequence[SnapshotExpr]) -> list[Snapshot]:
        """Several snapshots at once (a network source fetches them together)."""
        ...

    def history(self, env: EnvName) -> list[Snapshot]:
        """Every snapshot of an environment, oldest first."""
        ...

    def histories(self, envs: Sequence[EnvName]) -> dict[EnvName, list[Snapshot]]:
        """Several environments' histories at once."""
        ...

    def all_histories(self) -> dict[EnvName, list[Snapshot]]:
        """Every environment's history (a network source lists them while it fetches)."""
        ...

    def environment_types(self) -> dict[EnvName, str]:
        """Each environment's type (`ECS`, `K8S`, ...), as known locally: no request."""
        ...

    def builds(self, flows: Sequence[str]) -> list[FlowArtifact]:
        """Every artifact these flows recorded, deployed or not, newest first: this repository's builds."""
        ...


def utc_now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def load_histories(source: Source, envs: Sequence[str]) -> dict[EnvName, list[Snapshot]]:
    """Every snapshot of the named environments (all of them when none are named), oldest first."""
    return source.histories([EnvName(e) for e in envs]) if envs else source.all_histories()


def load_builds(
    source: Source, histories: Mapping[EnvName, Sequence[Snapshot]], matcher: RepoMatcher
) -> dict[CommitSha, Build]:
    """This repository's builds, deployed or not: its flows' artifact lists, with what the histories ran."""
    from git_kosli.facts import builds

    listed = source.builds(matcher.repository_flows(histories.values()))
    return builds(histories.values(), matcher.provenance_of, listed)
