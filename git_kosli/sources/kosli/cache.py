"""What was fetched from one Kosli org, kept because it cannot change.

A numbered snapshot is immutable, so is an environment's event log up to its
latest snapshot, and so is the commit a flow recorded for a fingerprint. The cache is
the embedded store's schema plus three tables (events, how far they are cached, and
provenance), one SQLite file per org and host under `<git-common-dir>/kosli/`. Each
write is one transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from git_kosli.errors import SourceError
from git_kosli.model import CommitSha, EnvName, Fingerprint, FlowArtifact, Provenance
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
CREATE TABLE IF NOT EXISTS provenance (
    fingerprint TEXT NOT NULL,
    flow TEXT NOT NULL,
    git_commit TEXT,
    commit_url TEXT,
    PRIMARY KEY (fingerprint, flow)
);
"""


_LISTINGS_SCHEMA = """
CREATE TABLE IF NOT EXISTS builds_listed (flow TEXT PRIMARY KEY);
"""


def cache_path(common_dir: Path, org: str, host: str) -> Path:
    """One cache per org and server, so an EU and a US org of the same name never mix.

    `org` is a checked Kosli name; of the host only its name and port make the file name, never
    a user name or password written in the URL.
    """
    server = re.sub(r"[^A-Za-z0-9.-]+", "_", urlsplit(host).netloc.rpartition("@")[2])
    return store_path(common_dir, f"cache-{org}@{server}")


class KosliCache(Store):
    """Snapshots as the store keeps them, plus environment events and flow provenance."""

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

    def put_events(self, env: EnvName, events: Iterable[Mapping[str, Any]], *, through: int) -> None:
        """Add the events of snapshots after those cached, up to snapshot `through`."""
        known = self.events_through(env)
        fresh = [e for e in events if known < _index(e) <= through]
        with self._db:
            self._db.execute("INSERT OR IGNORE INTO environments VALUES (?, '')", (env,))
            self._db.executemany(
                "INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?)",
                [(env, _index(e), seq, json.dumps(e, sort_keys=True)) for seq, e in enumerate(fresh)],
            )
            self._db.execute("INSERT OR REPLACE INTO events_through VALUES (?, ?)", (env, max(known, through)))

    def provenance(self, fingerprints: Iterable[Fingerprint]) -> dict[Fingerprint, list[Provenance]]:
        """The flows and commits recorded for each fingerprint that is cached."""
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
        """Remember which commit each flow recorded for a fingerprint."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO provenance VALUES (?, ?, ?, ?)",
                [(fp, p.flow, p.git_commit, p.commit_url) for fp, p in entries],
            )


def _index(event: Mapping[str, Any]) -> int:
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

    def put(self, listings: Mapping[str, Sequence[FlowArtifact]]) -> None:
        """Keep the newly listed builds of each flow and mark every one of these flows listed, in one transaction."""
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
