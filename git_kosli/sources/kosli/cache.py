"""What was fetched from one Kosli org, kept because it cannot change.

A numbered snapshot is immutable, so is an environment's snapshot list and event log up
to its latest snapshot, and so is the commit a flow recorded for a fingerprint. The cache
is the embedded store's schema (the snapshots fetched whole) plus tables of its own: the
snapshot list and the events of each environment and how far both are cached, the
provenance of fingerprints (a row with no commit: looked up in that flow and not found),
the flows Kosli no longer lists (archived or deleted), the logical environments, the
environments of the last listing, and when each history, listing and flow's builds were
last fetched (so a read can answer from here while that is recent). One
SQLite file per org and host under `<git-common-dir>/kosli/`. Each write is one
transaction, made only of what was read and checked first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from git_kosli import __version__
from git_kosli.errors import SourceError
from git_kosli.model import (
    Artifact,
    CommitSha,
    EnvName,
    Fingerprint,
    FlowArtifact,
    Provenance,
    Snapshot,
    SnapshotRef,
    SnapshotSummary,
)
from git_kosli.sources.store import Store, store_path

_EXTRA_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    env TEXT NOT NULL,
    idx INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (env, idx, seq)
);
CREATE TABLE IF NOT EXISTS events_through (env TEXT PRIMARY KEY, idx INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS snapshot_list (
    env TEXT NOT NULL,
    idx INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    compliant INTEGER,
    PRIMARY KEY (env, idx)
);
CREATE TABLE IF NOT EXISTS provenance (
    fingerprint TEXT NOT NULL,
    flow TEXT NOT NULL,
    git_commit TEXT,
    commit_url TEXT,
    PRIMARY KEY (fingerprint, flow)
);
CREATE TABLE IF NOT EXISTS absent_flows (flow TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS logical_environments (name TEXT PRIMARY KEY, includes TEXT NOT NULL);
"""


_LISTINGS_SCHEMA = """
CREATE TABLE IF NOT EXISTS builds_listed (flow TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS fetched (kind TEXT NOT NULL, name TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (kind, name));
CREATE TABLE IF NOT EXISTS listed_environments (name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS replayed (env TEXT PRIMARY KEY, key TEXT NOT NULL, body TEXT NOT NULL);
"""
REPLAY_FORMAT = 1  # of `replayed.body`; a change to it or to how histories are replayed needs a new number

Fetched = Literal["history", "environments", "builds"]
"""What a `fetched` row dates: an environment's history (by name), the environment list (name ''), a flow's builds."""


def cache_path(common_dir: Path, org: str, host: str) -> Path:
    """One cache per org and server, so an EU and a US org of the same name never mix.

    `org` is a checked Kosli name; of the host only its name and port make the file name, never
    a user name or password written in the URL.
    """
    server = re.sub(r"[^A-Za-z0-9.-]+", "_", urlsplit(host).netloc.rpartition("@")[2])
    return store_path(common_dir, f"cache-{org}@{server}")


class KosliCache(Store):
    """Snapshots as the store keeps them, plus snapshot lists, events, provenance and what Kosli lacks."""

    schema = Store.schema + _EXTRA_SCHEMA + _LISTINGS_SCHEMA
    kind = "a cache of what was fetched from Kosli"

    def recovery(self) -> list[str]:
        """A cache holds nothing that cannot be fetched again."""
        return [f"it can be deleted safely; what it held is fetched again: rm {self.path}"]

    def events_through(self, env: EnvName) -> int:
        """The latest snapshot whose events are all cached, 0 when none are."""
        row = self._db.execute("SELECT idx FROM events_through WHERE env = ?", (env,)).fetchone()
        return int(row[0]) if row else 0

    def events(self, env: EnvName) -> list[dict[str, Any]]:
        """Every cached event of an environment, oldest first."""
        rows = self._db.execute("SELECT body FROM events WHERE env = ? ORDER BY idx, seq", (env,))
        try:
            events: list[dict[str, Any]] = json.loads("[" + ",".join(body for (body,) in rows) + "]")  # one parse
        except (ValueError, TypeError, RecursionError):
            raise SourceError(
                f"{self.path} cannot be read as {self.kind} (an event is not JSON)", hints=self.recovery()
            ) from None
        return events

    def listed(self, env: EnvName) -> list[SnapshotSummary]:
        """The cached snapshot list of an environment (number, start, compliance), oldest first."""
        rows = self._db.execute(
            "SELECT idx, timestamp, compliant FROM snapshot_list WHERE env = ? ORDER BY idx", (env,)
        )
        return [SnapshotSummary(i, t, None if c is None else bool(c)) for i, t, c in rows]

    def listed_through(self, env: EnvName) -> int:
        """The newest snapshot of the cached list, 0 when none is cached."""
        row = self._db.execute("SELECT MAX(idx) FROM snapshot_list WHERE env = ?", (env,)).fetchone()
        return int(row[0] or 0) if row else 0

    def put_history(
        self,
        env: EnvName,
        *,
        listed: Sequence[SnapshotSummary],
        events: Iterable[Mapping[str, Any]],
        through: int,
        fetched_at: float,
    ) -> None:
        """Add what is new of an environment's snapshot list and events, up to snapshot `through`, at once.

        `fetched_at`: when the requests that brought them started, so a later read knows how recent it is.
        """
        known = self.events_through(env)
        fresh = [e for e in events if known < event_index(e) <= through]
        with self._db:
            self._db.execute("INSERT OR IGNORE INTO environments VALUES (?, '')", (env,))
            self._db.executemany(
                "INSERT OR REPLACE INTO snapshot_list VALUES (?, ?, ?, ?)",
                [(env, s.index, s.timestamp, None if s.compliant is None else int(s.compliant)) for s in listed],
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?)",
                [(env, event_index(e), seq, json.dumps(e, sort_keys=True)) for seq, e in enumerate(fresh)],
            )
            self._db.execute("INSERT OR REPLACE INTO events_through VALUES (?, ?)", (env, max(known, through)))
            self._db.execute("INSERT OR REPLACE INTO fetched VALUES ('history', ?, ?)", (env, fetched_at))

    def put_environments(self, listing: Iterable[tuple[EnvName, str, Sequence[str]]], *, fetched_at: float) -> None:
        """Remember the org's environments with their types, what each logical one includes, and the listing's time."""
        rows = list(listing)
        for name, kind, _ in rows:
            self.add_environment(name, kind)
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO logical_environments VALUES (?, ?)",
                [(name, json.dumps(list(includes))) for name, kind, includes in rows if kind == "logical"],
            )
            self._db.execute("DELETE FROM listed_environments")
            self._db.executemany("INSERT OR IGNORE INTO listed_environments VALUES (?)", [(n,) for n, _, _ in rows])
            self._db.execute("INSERT OR REPLACE INTO fetched VALUES ('environments', '', ?)", (fetched_at,))

    def listed_environments(self) -> list[EnvName]:
        """The environments of the last listing, sorted; every one cached when the org was never listed here."""
        if not self.fetched_at("environments", [""]):
            return self.environments()
        return [EnvName(name) for (name,) in self._db.execute("SELECT name FROM listed_environments ORDER BY name")]

    def fetched_at(self, kind: Fetched, names: Iterable[str]) -> dict[str, float]:
        """When each of these was last fetched (a `time.time()` value); one never fetched is left out."""
        rows = self._db.execute("SELECT name, at FROM fetched WHERE kind = ?", (kind,))
        wanted = set(names)
        return {name: float(at) for name, at in rows if name in wanted}

    def logical(self) -> dict[EnvName, list[str]]:
        """The logical environments known, each with the physical ones it includes."""
        rows = self._db.execute(
            "SELECT l.name, l.includes FROM logical_environments l JOIN environments e ON e.name = l.name "
            "WHERE e.type = 'logical'"
        )
        return {EnvName(name): [str(e) for e in json.loads(includes)] for name, includes in rows}

    def provenance(self, fingerprints: Iterable[Fingerprint]) -> dict[Fingerprint, list[Provenance]]:
        """The flows and commits recorded for each fingerprint that is cached (commit None: not found there)."""
        found: dict[Fingerprint, list[Provenance]] = {}
        wanted = list(set(fingerprints))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for fp, flow, commit, url in self._db.execute(
                f"SELECT fingerprint, flow, git_commit, commit_url FROM provenance WHERE fingerprint IN ({marks}) "
                f"ORDER BY fingerprint, flow",
                chunk,
            ):
                found.setdefault(Fingerprint(fp), []).append(
                    Provenance(flow=flow, git_commit=CommitSha(commit) if commit else None, commit_url=url)
                )
        return found

    def put_provenance(self, entries: Iterable[tuple[Fingerprint, Provenance]]) -> None:
        """Remember which commit each flow recorded for a fingerprint (None: the flow does not list it)."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO provenance VALUES (?, ?, ?, ?)",
                [(fp, p.flow, p.git_commit, p.commit_url) for fp, p in entries],
            )
            self._provenance_changed()

    def _provenance_changed(self) -> None:
        """Count a change of what is known of provenance: every replayed history depends on it."""
        self._db.execute(
            "INSERT INTO meta VALUES ('provenance_generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    def replay_key(self, env: EnvName, flow: str | None) -> str:
        """What an environment's replayed history is made from; another key, another history.

        The snapshot list, the events, the snapshots fetched whole, the provenance known (and the
        flow its lookups were kept to), and this version of git kosli, which replayed it.
        """
        listed = self._db.execute("SELECT COUNT(*), MAX(idx) FROM snapshot_list WHERE env = ?", (env,)).fetchone()
        events = self._db.execute("SELECT COUNT(*), MAX(idx) FROM events WHERE env = ?", (env,)).fetchone()
        whole = self._db.execute("SELECT COUNT(*), MAX(idx) FROM snapshots WHERE env = ?", (env,)).fetchone()
        known = self._db.execute("SELECT value FROM meta WHERE key = 'provenance_generation'").fetchone()
        parts = [REPLAY_FORMAT, __version__, flow, self.events_through(env), listed, events, whole, known]
        return json.dumps(parts, default=list)

    def replayed(self, env: EnvName, key: str) -> list[Snapshot] | None:
        """The history replayed before from what `key` says, or None (another key, or a row that does not read)."""
        row = self._db.execute("SELECT key, body FROM replayed WHERE env = ?", (env,)).fetchone()
        if row is None or row[0] != key:
            return None
        try:
            return _decoded_history(env, json.loads(row[1]))
        except (ValueError, TypeError, KeyError, IndexError, RecursionError):
            return None  # not as written: replayed again, and written over

    def put_replayed(self, histories: Mapping[EnvName, tuple[str, Sequence[Snapshot]]]) -> None:
        """Keep replayed histories, each under the key of what it was replayed from."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO replayed VALUES (?, ?, ?)",
                [(env, key, _encoded_history(snapshots)) for env, (key, snapshots) in histories.items()],
            )

    def absent_flows(self) -> set[str]:
        """Flows whose artifacts Kosli would not list (404: archived or deleted): not asked about again."""
        return {flow for (flow,) in self._db.execute("SELECT flow FROM absent_flows")}

    def put_absent_flows(self, flows: Iterable[str]) -> None:
        """Remember flows Kosli answered 404 for."""
        with self._db:
            self._db.executemany("INSERT OR IGNORE INTO absent_flows VALUES (?)", [(flow,) for flow in flows])
            self._provenance_changed()


def _encoded_history(snapshots: Sequence[Snapshot]) -> str:
    """Snapshots as JSON, each distinct artifact once: a history repeats most of them, snapshot after snapshot."""
    numbers: dict[Artifact, int] = {}
    artifacts: list[list[Any]] = []
    rows = []
    for snapshot in snapshots:
        refs = []
        for a in snapshot.artifacts:
            number = numbers.get(a)
            if number is None:
                number = numbers[a] = len(artifacts)
                provenance = [list(p) for p in a.provenance]
                artifacts.append([a.name, a.fingerprint, provenance, a.instances, a.compliant, a.started_at])
            refs.append(number)
        rows.append([snapshot.index, snapshot.timestamp, snapshot.compliant, refs])
    return json.dumps({"artifacts": artifacts, "snapshots": rows}, separators=(",", ":"))


def _decoded_history(env: EnvName, body: Mapping[str, Any]) -> list[Snapshot]:
    """What `_encoded_history` wrote; TypeError, ValueError or IndexError for anything else."""
    artifacts = [
        Artifact(
            _text(name),
            Fingerprint(_text(fingerprint)),
            tuple(Provenance(*map(_optional_text, p)) for p in provenance),
            _optional(instances, int),
            _optional(compliant, bool),
            None if started_at is None else float(started_at),
        )
        for name, fingerprint, provenance, instances, compliant, started_at in body["artifacts"]
    ]
    return [
        Snapshot(
            SnapshotRef(env, _number(index)),
            float(timestamp),
            tuple(artifacts[_number(n)] for n in refs),
            _optional(compliant, bool),
        )
        for index, timestamp, compliant, refs in body["snapshots"]
    ]


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _optional_text(value: object) -> Any:
    return None if value is None else _text(value)


def _number(value: object) -> int:
    if type(value) is not int:
        raise TypeError("not a whole number")
    return value


def _optional(value: object, kind: type) -> Any:
    if value is not None and type(value) is not kind:
        raise TypeError(f"not {kind.__name__}")
    return value


def event_index(event: Mapping[str, Any]) -> int:
    """The snapshot an event belongs to (0 when it names none)."""
    index = event.get("snapshot_index")
    return index if isinstance(index, int) else 0


class BuildListings:
    """Which flows' artifact lists are cached whole: after the first listing, only newer pages are fetched.

    The builds themselves are kept in the store's `builds` table; a flow is marked listed in the
    same transaction that keeps its builds, so a listing cut short is never taken for a whole one.
    """

    def __init__(self, cache: KosliCache) -> None:
        self._cache = cache

    def listed(self, flow: str) -> bool:
        """True when the flow's whole listing is cached."""
        row = self._cache._db.execute("SELECT 1 FROM builds_listed WHERE flow = ?", (flow,)).fetchone()
        return row is not None

    def known(self, flow: str) -> set[str]:
        """The fingerprints cached for a flow."""
        rows = self._cache._db.execute("SELECT fingerprint FROM builds WHERE flow = ?", (flow,))
        return {fp for (fp,) in rows}

    def put(self, listings: Mapping[str, Sequence[FlowArtifact]], *, fetched_at: float) -> None:
        """Keep the newly listed builds of each flow and mark every one of these flows listed, in one transaction.

        `fetched_at`: when the listing started, so that a later read within kosli.fetch.maxAge asks nothing.
        """
        db = self._cache._db
        with db:
            db.executemany(
                "INSERT OR REPLACE INTO builds VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (b.flow, b.fingerprint, b.name, b.git_commit, b.commit_url, b.created_at)
                    for builds in listings.values()
                    for b in builds
                ],
            )
            db.executemany("INSERT OR IGNORE INTO builds_listed VALUES (?)", [(flow,) for flow in listings])
            db.executemany(
                "INSERT OR REPLACE INTO fetched VALUES ('builds', ?, ?)", [(f, fetched_at) for f in listings]
            )
