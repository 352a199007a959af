"""Where snapshots come from: one interface, so no command knows whether it talks to Kosli or the store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from git_kosli.model import EnvName, Snapshot, SnapshotRef
from git_kosli.snapshot_expr import SnapshotExpr, resolve_index
from git_kosli.store import Store


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


def utc_now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


class LocalSource:
    """The embedded store as a source."""

    def __init__(self, store: Store, now: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self._now = now

    def environments(self) -> list[EnvName]:
        """Every environment in the store."""
        return self.store.environments()

    def resolve(self, expr: SnapshotExpr) -> Snapshot:
        """Resolve against the stored snapshot numbers and times."""
        index = resolve_index(expr, self.store.summaries(expr.env), self._now())
        snapshot = self.store.snapshot_or_none(SnapshotRef(expr.env, index))
        assert snapshot is not None, "resolve_index only returns stored numbers"
        return snapshot

    def resolve_all(self, exprs: Sequence[SnapshotExpr]) -> list[Snapshot]:
        """Each expression resolved in turn."""
        return [self.resolve(expr) for expr in exprs]

    def history(self, env: EnvName) -> list[Snapshot]:
        """All stored snapshots of the environment."""
        return self.store.history(env)

    def histories(self, envs: Sequence[EnvName]) -> dict[EnvName, list[Snapshot]]:
        """Each environment's stored snapshots."""
        return {env: self.store.history(env) for env in envs}

    def all_histories(self) -> dict[EnvName, list[Snapshot]]:
        """Every stored environment's snapshots."""
        return self.histories(self.environments())
