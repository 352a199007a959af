"""The embedded snapshot store: SQLite in the repository's git common dir (`kosli/`).

It is the source when no Kosli org is configured, and the same schema caches what
is fetched from Kosli (one database file per org). Besides snapshots it keeps builds:
every artifact a flow recorded, deployed or not. Numbered snapshots never change,
so a snapshot is written once; writing the same one again changes nothing, and
writing a different one under an existing number is refused. Every write is one
transaction: a failure leaves the database as it was.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from git_kosli.errors import GET_SNAPSHOTS, SourceError, StoreConflictError, UnknownEnvironmentError
from git_kosli.model import (
    ENV_NAME_PATTERN,
    Artifact,
    CommitSha,
    EnvName,
    Fingerprint,
    FlowArtifact,
    Provenance,
    Snapshot,
    SnapshotRef,
    SnapshotSummary,
    clean_text,
    snapshot_problem,
)
from git_kosli.snapshot_expr import SnapshotExpr, resolve_index
from git_kosli.sources import utc_now

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS environments (name TEXT PRIMARY KEY, type TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS snapshots (
    env TEXT NOT NULL REFERENCES environments(name),
    idx INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    compliant INTEGER,
    digest TEXT NOT NULL,
    PRIMARY KEY (env, idx)
);
CREATE TABLE IF NOT EXISTS artifacts (
    env TEXT NOT NULL,
    idx INTEGER NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    instances INTEGER NOT NULL,
    compliant INTEGER,
    started_at REAL,
    provenance TEXT NOT NULL,
    PRIMARY KEY (env, idx, position),
    FOREIGN KEY (env, idx) REFERENCES snapshots(env, idx)
);
CREATE TABLE IF NOT EXISTS builds (
    flow TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    name TEXT NOT NULL,
    git_commit TEXT,
    commit_url TEXT,
    created_at REAL,
    PRIMARY KEY (flow, fingerprint)
);
"""


def store_path(common_dir: Path, name: str = "local") -> Path:
    """The database file for the embedded store (`local`) or a Kosli org's cache."""
    return common_dir / "kosli" / f"{name}.sqlite"


class _Rows(list[tuple[Any, ...]]):
    """The rows a statement returned, read whole (so that a damaged page fails here, not in the caller's loop)."""

    def fetchone(self) -> tuple[Any, ...] | None:
        return self[0] if self else None


class Database:
    """One SQLite file; any failure of it is one SourceError naming the file and what to do about it."""

    def __init__(self, path: Path, kind: str, recovery: list[str], *, uri: str | None = None) -> None:
        """Open `path` (or the `uri`, read-only or in memory): `kind` names what it holds, `recovery` how to recover."""
        self.path = path
        self._kind = kind
        self._recovery = recovery
        with self._failing():
            # check_same_thread: a hook may read it from a worker thread
            self._connection = sqlite3.connect(uri or path, uri=uri is not None, check_same_thread=False)

    def execute(self, sql: str, args: Sequence[object] = ()) -> _Rows:
        """Run one statement and read its rows."""
        with self._failing():
            return _Rows(self._connection.execute(sql, args).fetchall())

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        """Run one statement per row."""
        with self._failing():
            self._connection.executemany(sql, rows)

    def executescript(self, sql: str) -> None:
        """Run several statements."""
        with self._failing():
            self._connection.executescript(sql)

    def __enter__(self) -> Database:
        self._connection.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with self._failing():  # the commit itself may fail: a full disk, a lock
            self._connection.__exit__(exc_type, exc, tb)

    def close(self) -> None:
        """Close the file."""
        self._connection.close()

    @contextlib.contextmanager
    def _failing(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as error:
            raise self._failure(str(error)) from None

    def _failure(self, problem: str) -> SourceError:
        if "locked" in problem or "busy" in problem:
            return SourceError(
                f"{self.path} is in use by another git kosli (an import, a record, a fetch); try again when it ends"
            )
        if "readonly" in problem or "read-only" in problem or "unable to open" in problem:
            return SourceError(f"cannot write {self.path}: the repository is read-only here ({problem})")
        if "full" in problem or "disk I/O" in problem:
            return SourceError(f"cannot write {self.path}: {problem} (is the disk full?); nothing was stored")
        return SourceError(f"{self.path} cannot be read as {self._kind} ({problem})", hints=self._recovery)


class Store:
    """Environments and their numbered snapshots."""

    schema = _SCHEMA
    kind = "the embedded snapshot store"

    def __init__(self, path: Path, *, create: bool = True) -> None:
        """Open the store at `path`; with `create=False` a missing (or empty) store reads as empty and is not made.

        Raises:
            SourceError: the file is not a store this program can read (named, with how to recover).
        """
        self.path = path
        if create:
            _require_no_link(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = Database(path, self.kind, self.recovery())
            with self._db:
                self._db.executescript(self.schema)
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif path.exists() and path.stat().st_size > 0:
            self._db = Database(path, self.kind, self.recovery(), uri=f"{path.as_uri()}?mode=ro")
        else:
            self._db = Database(path, self.kind, self.recovery(), uri="file::memory:")
            self._db.executescript(self.schema)
        self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'")  # a file of another kind fails here

    def recovery(self) -> list[str]:
        """What to do about a store that cannot be read."""
        return [
            f"move it aside, then import the snapshots again: mv {self.path} {self.path}.broken",
        ]

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def environments(self) -> list[EnvName]:
        """Every environment's name, sorted."""
        return [EnvName(r[0]) for r in self._db.execute("SELECT name FROM environments ORDER BY name")]

    def require_environment(self, env: EnvName) -> None:
        """Raise UnknownEnvironmentError, listing the known ones, when `env` does not exist."""
        if self._db.execute("SELECT 1 FROM environments WHERE name = ?", (env,)).fetchone() is None:
            known = ", ".join(self.environments())
            if not known:
                raise UnknownEnvironmentError(
                    f"environment '{env}' does not exist: no snapshots yet", hints=GET_SNAPSHOTS
                )
            raise UnknownEnvironmentError(f"environment '{env}' does not exist (environments: {known})")

    def summaries(self, env: EnvName) -> list[SnapshotSummary]:
        """The environment's snapshot numbers and start times, oldest first."""
        self.require_environment(env)
        rows = self._db.execute("SELECT idx, timestamp FROM snapshots WHERE env = ? ORDER BY idx", (env,))
        return [SnapshotSummary(index=i, timestamp=t) for i, t in rows]

    def latest_index(self, env: EnvName) -> int:
        """The newest snapshot's number, 0 when there is none."""
        row = self._db.execute("SELECT MAX(idx) FROM snapshots WHERE env = ?", (env,)).fetchone()
        return int(row[0] or 0) if row else 0

    def snapshot_or_none(self, ref: SnapshotRef) -> Snapshot | None:
        """One snapshot with its running artifacts, or None when it is not stored."""
        found = self._snapshots("WHERE env = ? AND idx = ?", (ref.env, ref.index))
        return found[0] if found else None

    def history(self, env: EnvName) -> list[Snapshot]:
        """Every stored snapshot of an environment with its artifacts, oldest first."""
        self.require_environment(env)
        return self._snapshots("WHERE env = ?", (env,))

    def _snapshots(self, where: str, args: tuple[object, ...]) -> list[Snapshot]:
        """Snapshots with their artifacts; an artifact running unchanged through many snapshots is one object."""
        artifacts: dict[tuple[str, int], list[Artifact]] = {}
        provenances: dict[str, tuple[Provenance, ...]] = {}
        seen: dict[tuple[object, ...], Artifact] = {}
        for env, idx, *columns in self._db.execute(
            f"SELECT env, idx, name, fingerprint, instances, compliant, started_at, provenance "
            f"FROM artifacts {where} ORDER BY env, idx, position",
            args,
        ):
            row = tuple(columns)
            found = seen.get(row)
            if found is None:
                found = seen[row] = _artifact_from_row(row, provenances)
            artifacts.setdefault((env, idx), []).append(found)
        return [
            Snapshot(
                ref=SnapshotRef(EnvName(env), idx),
                timestamp=timestamp,
                artifacts=tuple(artifacts.get((env, idx), ())),
                compliant=None if compliant is None else bool(compliant),
            )
            for env, idx, timestamp, compliant in self._db.execute(
                f"SELECT env, idx, timestamp, compliant FROM snapshots {where} ORDER BY env, idx", args
            )
        ]

    def add_environment(self, env: EnvName, env_type: str = "") -> None:
        """Create an environment if it does not exist yet; a type given replaces the one known.

        Raises:
            SourceError: the name is not one Kosli allows (nothing is stored).
        """
        if not ENV_NAME_PATTERN.match(env):
            raise SourceError(f"'{clean_text(env)[:100]}' is not an environment name Kosli allows; nothing was stored")
        with self._db:
            self._db.execute(
                "INSERT INTO environments VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET type = excluded.type "
                "WHERE excluded.type != ''",
                (env, clean_text(env_type)),
            )

    def environment_types(self) -> dict[EnvName, str]:
        """Each environment's type (`ECS`, `K8S`, ...; empty when not known)."""
        return {EnvName(n): t for n, t in self._db.execute("SELECT name, type FROM environments ORDER BY name")}

    def put_snapshots(self, snapshots: Iterable[Snapshot], *, env_type: str = "") -> list[SnapshotRef]:
        """Store snapshots all at once or not at all; returns the ones that were new.

        Raises:
            StoreConflictError: a different snapshot is already stored under one of the numbers.
        """
        added: list[SnapshotRef] = []
        with self._db:
            for snapshot in snapshots:
                if self._put(snapshot, env_type):
                    added.append(snapshot.ref)
        return added

    def _put(self, snapshot: Snapshot, env_type: str) -> bool:
        problem = snapshot_problem(snapshot)
        if problem is not None:
            raise SourceError(f"{clean_text(str(snapshot.ref))[:100]}: {problem}; nothing was stored")
        digest = snapshot_digest(snapshot)
        self._db.execute("INSERT OR IGNORE INTO environments VALUES (?, ?)", (snapshot.env, clean_text(env_type)))
        row = self._db.execute(
            "SELECT digest FROM snapshots WHERE env = ? AND idx = ?", (snapshot.env, snapshot.index)
        ).fetchone()
        if row is not None:
            if row[0] != digest:
                raise StoreConflictError(
                    f"{snapshot.ref} is already stored with different artifacts; "
                    f"a numbered snapshot never changes (refusing to overwrite it)"
                )
            return False
        self._db.execute(
            "INSERT INTO snapshots VALUES (?, ?, ?, ?, ?)",
            (snapshot.env, snapshot.index, snapshot.timestamp, _tristate(snapshot.compliant), digest),
        )
        self._db.executemany(
            "INSERT INTO artifacts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    snapshot.env,
                    snapshot.index,
                    position,
                    a.name,
                    a.fingerprint,
                    a.instances,
                    _tristate(a.compliant),
                    a.started_at,
                    json.dumps([_provenance_row(p) for p in a.provenance]),
                )
                for position, a in enumerate(snapshot.artifacts)
            ],
        )
        return True

    def builds(self, flows: Sequence[str]) -> list[FlowArtifact]:
        """Every build recorded in these flows, newest first (none from a store made before builds were kept)."""
        if not self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'builds'"):
            return []  # opened read-only, and made before builds were kept
        marks = ",".join("?" * len(flows))
        rows = self._db.execute(
            f"SELECT flow, name, fingerprint, git_commit, commit_url, created_at FROM builds "
            f"WHERE flow IN ({marks}) ORDER BY created_at DESC, flow, fingerprint",
            list(flows),
        )
        return [
            FlowArtifact(flow, name, Fingerprint(fp), CommitSha(commit) if commit else None, url, created)
            for flow, name, fp, commit, url, created in rows
        ]

    def put_builds(self, builds: Iterable[FlowArtifact]) -> list[FlowArtifact]:
        """Keep builds, all at once or none; returns those that were new or differ from what was kept."""
        changed = []
        with self._db:
            for build in builds:
                row = (build.flow, build.fingerprint, build.name, build.git_commit, build.commit_url, build.created_at)
                kept = self._db.execute(
                    "SELECT flow, fingerprint, name, git_commit, commit_url, created_at FROM builds "
                    "WHERE flow = ? AND fingerprint = ?",
                    row[:2],
                ).fetchone()
                if kept != row:
                    self._db.execute("INSERT OR REPLACE INTO builds VALUES (?, ?, ?, ?, ?, ?)", row)
                    changed.append(build)
        return changed


def _provenance_row(entry: Provenance) -> list[str | None]:
    """A provenance entry as the artifacts table keeps it: Kosli's `previous_fingerprint` only when it said one."""
    row = [entry.flow, entry.git_commit, entry.commit_url]
    return [*row, entry.previous_fingerprint] if entry.previous_fingerprint else row


def _require_no_link(path: Path) -> None:
    """Refuse to write a database (or its journal) through a symbolic link: its target is not ours to change."""
    for place in (path, *(path.with_name(path.name + suffix) for suffix in ("-journal", "-wal", "-shm"))):
        if place.is_symlink():
            raise SourceError(f"{place} is a symbolic link; git kosli does not write through links (move it aside)")


def snapshot_digest(snapshot: Snapshot) -> str:
    """A hash of what makes a snapshot itself: when it started and what ran, in any order."""
    body = json.dumps(
        [
            snapshot.timestamp,
            sorted(
                [a.name, a.fingerprint, a.instances, a.compliant, [[p.flow, p.git_commit] for p in a.provenance]]
                for a in snapshot.artifacts
            ),
        ],
        sort_keys=True,
    )
    import hashlib  # only where snapshots are written: its import costs every read 3 ms

    return hashlib.sha256(body.encode()).hexdigest()


def _tristate(value: bool | None) -> int | None:  # noqa: FBT001 - converts the one value it is given
    return None if value is None else int(value)


def _artifact_from_row(row: tuple[object, ...], provenances: dict[str, tuple[Provenance, ...]]) -> Artifact:
    """An artifact from its row; `provenances` shares one parsed tuple per distinct JSON text across rows."""
    name, fingerprint, instances, compliant, started_at, provenance = row
    parsed = provenances.get(str(provenance))
    if parsed is None:
        parsed = provenances[str(provenance)] = tuple(
            Provenance(f, CommitSha(c) if c else None, u, *previous)
            for f, c, u, *previous in json.loads(str(provenance))
        )
    return Artifact(
        name=str(name),
        fingerprint=Fingerprint(str(fingerprint)),
        provenance=parsed,
        instances=int(instances),  # type: ignore[call-overload]
        compliant=None if compliant is None else bool(compliant),
        started_at=None if started_at is None else float(started_at),  # type: ignore[arg-type]
    )


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

    def environment_types(self) -> dict[EnvName, str]:
        """Each stored environment's type."""
        return self.store.environment_types()

    def builds(self, flows: Sequence[str]) -> list[FlowArtifact]:
        """The builds recorded in these flows (`git kosli build record`, `snapshot import` of a listing)."""
        return self.store.builds(flows)
