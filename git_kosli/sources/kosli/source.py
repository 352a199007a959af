"""Kosli's API as a source, behind a cache of everything that cannot change.

- A numbered snapshot is fetched once (`GET /snapshots/ORG/ENV/N`) and kept.
- `ENV`, `ENV~N` and `ENV#-N` are first resolved to a number with one short page
  of `GET /snapshots/ORG/ENV`; times (`@{...}`) are resolved by the server.
- An environment's history is replayed from its event log, fetched from the first
  snapshot not yet cached; the commits of its artifacts come from the flows'
  artifact lists, a page at a time until every fingerprint is known. So the
  requests grow with environments and pages, never with commits or snapshots.
- This repository's builds are its flows' artifact lists (`GET /artifacts/ORG?flow_name=F`,
  newest first): listed whole once, then only the pages newer than the newest build cached.
- Independent requests go out together over the client's one connection pool;
  only this thread writes the cache.
- Offline, everything is answered from the cache, or the error says what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime
from typing import Any, TypeVar

from git_kosli.errors import ApiError, OfflineError
from git_kosli.model import (
    EnvName,
    Fingerprint,
    FlowArtifact,
    Provenance,
    Snapshot,
    SnapshotRef,
    SnapshotSummary,
    clean_text,
)
from git_kosli.snapshot_expr import Ago, AtTime, Behind, Latest, Now, Numbered, SnapshotExpr, resolve_index
from git_kosli.sources import utc_now
from git_kosli.sources.kosli.api import KosliClient, snapshot_segment
from git_kosli.sources.kosli.cache import BuildListings, KosliCache
from git_kosli.sources.kosli.json import (
    build_from_listing,
    environment_name_or_none,
    events_from_json,
    flows_of_events,
    provenance_from_listing,
    snapshot_from_json,
    snapshots_from_events,
    summary_from_json,
)

_T = TypeVar("_T")
_R = TypeVar("_R")
WORKERS = 8
ProgressFactory = Callable[[str, int], Callable[[int], None]]
"""Given a title and a total, returns what to call with the count done so far."""


class KosliSource:
    """Environments and snapshots of one Kosli org."""

    def __init__(
        self,
        client: KosliClient | None,
        cache: KosliCache,
        *,
        org: str,
        flow: str | None = None,
        now: Callable[[], datetime] = utc_now,
        progress: ProgressFactory | None = None,
    ) -> None:
        """`client=None` is offline: only the cache answers. `progress` reports fetching environment histories."""
        self.client = client
        self.cache = cache
        self.org = org
        self.flow = flow
        self._now = now
        self._progress = progress

    def environments(self) -> list[EnvName]:
        """Every environment of the org (from the cache when offline)."""
        if self.client is None:
            return self.cache.environments()
        return self._remember(self._listed())

    def _listed(self) -> dict[EnvName, str]:
        """The org's environments and their types, as the server lists them (network only: may run in a worker)."""
        assert self.client is not None
        listed = self.client.environments()
        found = {
            env: clean_text(str(e.get("type") or ""))
            for e in listed
            if (env := environment_name_or_none(e)) is not None
        }
        return {env: found[env] for env in sorted(found)}

    def _remember(self, listed: dict[EnvName, str]) -> list[EnvName]:
        for env, env_type in listed.items():
            self.cache.add_environment(env, env_type)
        return list(listed)

    def environment_types(self) -> dict[EnvName, str]:
        """Each known environment's type (`ECS`, `K8S`, ...), as last listed."""
        return self.cache.environment_types()

    def resolve(self, expr: SnapshotExpr) -> Snapshot:
        """The snapshot an expression names."""
        return self.resolve_all([expr])[0]

    def resolve_all(self, exprs: Sequence[SnapshotExpr]) -> list[Snapshot]:
        """Several snapshots, the uncached ones fetched together."""
        refs = _parallel(self._ref_or_fetch, exprs)
        missing = [r for r in refs if isinstance(r, SnapshotRef) and self.cache.snapshot_or_none(r) is None]
        fetched = _parallel(self._fetch_numbered, list(dict.fromkeys(missing)))
        self.cache.put_snapshots(fetched)
        self.cache.put_provenance((a.fingerprint, p) for s in fetched for a in s.artifacts for p in a.provenance)
        return [self._cached(r) if isinstance(r, SnapshotRef) else r for r in refs]

    def history(self, env: EnvName) -> list[Snapshot]:
        """Every snapshot of an environment, oldest first."""
        return self.histories([env])[env]

    def histories(self, envs: Sequence[EnvName]) -> dict[EnvName, list[Snapshot]]:
        """Several environments' histories: new events fetched together, then the commits they lack."""
        if self.client is not None:
            cached = {env: self.cache.events_through(env) for env in envs}
            fetched = _parallel(lambda env: self._new_events(env, cached[env]), envs, self._fetching(len(envs)))
            self._bring_up_to_date(envs, fetched)
        return self._assembled(envs)

    def all_histories(self) -> dict[EnvName, list[Snapshot]]:
        """Every environment's history.

        The environments are listed while the ones already cached are brought up to date, so
        the listing costs no round trip of its own; one the org no longer lists is left out.
        """
        if self.client is None:
            return self._assembled(self.cache.environments())
        cached = {env: self.cache.events_through(env) for env in self.cache.environments()}
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            listing = pool.submit(self._listed)
            probes = {env: pool.submit(self._new_events, env, known) for env, known in cached.items()}
            names = self._remember(listing.result())
            probes = {env: probes.get(env) or pool.submit(self._new_events, env, 0) for env in names}
            progress = self._fetching(len(names))
            for done, _ in enumerate(as_completed(probes.values()), 1):
                if progress:
                    progress(done)
        self._bring_up_to_date(names, [probes[env].result() for env in names])
        return self._assembled(names)

    def _fetching(self, total: int) -> Callable[[int], None] | None:
        return self._progress("Fetching environment histories", total) if self._progress else None

    def _bring_up_to_date(self, envs: Sequence[EnvName], fetched: Sequence[tuple[int, list[Any]]]) -> None:
        for env, (through, events) in zip(envs, fetched, strict=True):
            self.cache.put_events(env, events, through=through)

    def _assembled(self, envs: Sequence[EnvName]) -> dict[EnvName, list[Snapshot]]:
        """Histories replayed from the cached events, with the commits of every artifact."""
        logs = {env: self._events(env) for env in envs}
        provenance = self._provenance([e for log in logs.values() for e in log])
        result = {}
        for env, log in logs.items():
            exact = {s.index: s for s in self.cache.history(env)} if env in self.cache.environments() else {}
            replayed = snapshots_from_events(env, log, provenance)
            result[env] = [exact.get(s.index, s) for s in replayed]
        return result

    # This repository's builds: its flows' artifact lists.

    def builds(self, flows: Sequence[str]) -> list[FlowArtifact]:
        """Every artifact these flows recorded, deployed or not: pages newer than the cache holds are fetched first."""
        if self.client is not None and flows:
            listings = BuildListings(self.cache)
            cached = {flow: listings.known(flow) if listings.listed(flow) else None for flow in flows}
            fetched = _parallel(lambda flow: self._new_builds(flow, cached[flow]), list(flows))
            listings.put(dict(zip(flows, fetched, strict=True)))
            self.cache.put_provenance(
                (b.fingerprint, Provenance(b.flow, b.git_commit, b.commit_url)) for found in fetched for b in found
            )
        return self.cache.builds(flows)

    def _new_builds(self, flow: str, cached: set[str] | None) -> list[FlowArtifact]:
        """The flow's builds that are not cached: pages, newest first, until one holds a build already cached.

        `cached` is None when the flow was never listed whole. A flow Kosli no longer knows
        (archived or deleted: 404) has no builds to add. Network only: runs in a worker.
        """
        assert self.client is not None
        found: list[FlowArtifact] = []
        try:
            for page in self.client.artifacts(flow=flow):
                builds = [build_from_listing(item, flow) for item in page]
                fresh = [b for b in builds if cached is None or b.fingerprint not in cached]
                found += fresh
                if len(fresh) < len(builds):
                    break
        except ApiError as error:
            if error.status != 404:
                raise
        return found

    # Resolving expressions to numbers.

    def _ref_or_fetch(self, expr: SnapshotExpr) -> SnapshotRef | Snapshot:
        """A numbered reference, or the snapshot itself when only the server can resolve the expression."""
        if isinstance(expr, Numbered) and expr.number > 0:
            return SnapshotRef(expr.env, expr.number)
        if self.client is None:
            return SnapshotRef(expr.env, resolve_index(expr, self._cached_summaries(expr.env), self._now()))
        if isinstance(expr, AtTime | Ago):
            suffix = str(expr).removeprefix(expr.env)
            return snapshot_from_json(self.client.snapshot(expr.env, snapshot_segment(suffix)), expr.env)
        newest = _newest_needed(expr)
        page = next(self.client.snapshot_summaries(expr.env, per_page=newest), [])
        summaries = [summary_from_json(item) for item in reversed(page)]
        return SnapshotRef(expr.env, resolve_index(expr, summaries, self._now()))

    def _fetch_numbered(self, ref: SnapshotRef) -> Snapshot:
        if self.client is None:
            raise OfflineError(self._not_cached(str(ref)))
        return snapshot_from_json(self.client.snapshot(ref.env, snapshot_segment(f"#{ref.index}")), ref.env)

    def _cached(self, ref: SnapshotRef) -> Snapshot:
        snapshot = self.cache.snapshot_or_none(ref)
        if snapshot is None:
            raise OfflineError(self._not_cached(str(ref)))
        return snapshot

    def _cached_summaries(self, env: EnvName) -> list[SnapshotSummary]:
        known = {s.index: s.timestamp for s in self.history(env)}
        if not known:
            raise OfflineError(self._not_cached(f"the snapshots of '{env}'"))
        return [SnapshotSummary(i, known[i]) for i in sorted(known)]

    def _not_cached(self, what: str) -> str:
        return f"{what} is not in the cache of org '{self.org}'; run without --offline to fetch it"

    # Histories from event logs.

    def _new_events(self, env: EnvName, known: int) -> tuple[int, list[Any]]:
        """The latest snapshot number and the events after snapshot `known` (network only: runs in a worker)."""
        assert self.client is not None
        page = next(self.client.snapshot_summaries(env, per_page=1), [])
        latest = summary_from_json(page[0]).index if page else 0
        if latest <= known:
            return latest, []
        return latest, events_from_json([e for page in self.client.events(env, start=known + 1) for e in page])

    def _events(self, env: EnvName) -> list[Any]:
        events = self.cache.events(env)
        if not events and self.client is None and env not in self.cache.environments():
            raise OfflineError(self._not_cached(f"environment '{env}'"))
        return events

    def _provenance(self, events: Sequence[Any]) -> dict[str, tuple[Provenance, ...]]:
        """The flows and commits of every fingerprint in the events, fetching what the cache lacks."""
        flows = flows_of_events(events)
        known = self.cache.provenance(Fingerprint(fp) for fp in flows)
        wanted: dict[str, set[str]] = {}
        for fp, names in flows.items():
            have = {p.flow for p in known.get(Fingerprint(fp), [])}
            for flow in (n for n in names if n not in have):
                if self.flow is None or flow == self.flow:
                    wanted.setdefault(flow, set()).add(fp)
        if wanted and self.client is not None:
            listed = _parallel(lambda item: self._list_flow(*item), list(wanted.items()))
            entries = [entry for found in listed for entry in found]
            self.cache.put_provenance(entries)
            for fp, entry in entries:
                known.setdefault(fp, []).append(entry)
        return {fp: _with_unknown_flows(known.get(Fingerprint(fp), []), names) for fp, names in flows.items()}

    def _list_flow(self, flow: str, fingerprints: set[str]) -> list[tuple[Fingerprint, Provenance]]:
        """Pages of a flow's artifacts, newest first, until every wanted fingerprint was seen."""
        assert self.client is not None
        missing, entries = set(fingerprints), []
        for page in self.client.artifacts(flow=flow):
            for item in page:
                entry = provenance_from_listing(flow, item)
                if entry is not None:
                    entries.append(entry)
                    missing.discard(entry[0])
            if not missing:
                break
        return entries


def _with_unknown_flows(known: list[Provenance], flows: list[str]) -> tuple[Provenance, ...]:
    """In the events' order, primary flow first; a flow whose commit was not looked up still counts."""
    by_flow = {p.flow: p for p in known}
    return tuple(by_flow.get(flow, Provenance(flow=flow, git_commit=None)) for flow in flows)


def _newest_needed(expr: SnapshotExpr) -> int:
    """How many of the newest snapshots resolve a latest-relative expression."""
    if isinstance(expr, Behind):
        return expr.steps + 1
    if isinstance(expr, Numbered):
        return -expr.number
    assert isinstance(expr, Latest | Now)
    return 1


def _parallel(work: Callable[[_T], _R], items: Sequence[_T], progress: Callable[[int], None] | None = None) -> list[_R]:
    """`work` over items, concurrently when there is more than one, results in order; `progress(done)` after each."""
    if len(items) <= 1:
        results = [work(item) for item in items]
    else:
        with ThreadPoolExecutor(max_workers=min(WORKERS, len(items))) as pool:
            futures = [pool.submit(work, item) for item in items]
            for done, _ in enumerate(as_completed(futures), 1):
                if progress:
                    progress(done)
            return [f.result() for f in futures]
    if progress:
        progress(len(results))
    return results
