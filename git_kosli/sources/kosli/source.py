"""Kosli's API as a source, behind a cache of everything that cannot change.

- A numbered snapshot is fetched once (`GET /snapshots/ORG/ENV/N`) and kept.
- `ENV`, `ENV~N` and `ENV#-N` are first resolved to a number with one short page
  of `GET /snapshots/ORG/ENV`; times (`@{...}`) are resolved by the server.
- An environment's history is its snapshot list (every index from 1 to the latest, with
  start times and compliance) and its event log (what started, changed and exited in
  each), both fetched from the first snapshot not yet cached, then replayed; a snapshot
  with no events runs what the one before it ran, and a fetched snapshot stands for
  itself. The commits of its artifacts come from the flows' artifact lists, a page at a
  time until every fingerprint is known. So the requests grow with environments and
  pages, never with commits or snapshots. What is fetched is replayed before it is
  cached: an answer that cannot be read is never kept.
- Logical environments (which group physical ones) have no snapshots of their own: no
  history is fetched for them.
- This repository's builds are its flows' artifact lists (`GET /artifacts/ORG?flow_name=F`,
  newest first): listed whole once, then only the pages newer than the newest build cached.
- A flow Kosli answers 404 for (archived, deleted) is remembered and not asked about
  again; so is a fingerprint a flow does not list.
- Independent requests go out together over the client's one connection pool;
  only this thread writes the cache.
- Offline, everything is answered from the cache, or the error says what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from git_kosli.errors import ApiError, OfflineError, UnknownEnvironmentError
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
from git_kosli.sources.kosli.api import PER_PAGE, KosliClient, snapshot_segment
from git_kosli.sources.kosli.cache import BuildListings, KosliCache, event_index
from git_kosli.sources.kosli.json import (
    build_from_listing,
    environment_name_or_none,
    events_from_json,
    flows_of_events,
    provenance_from_listing,
    replay_history,
    snapshot_from_json,
    summary_from_json,
)

_T = TypeVar("_T")
_R = TypeVar("_R")
WORKERS = 8
ProgressFactory = Callable[[str, int], Callable[[int], None]]
"""Given a title and a total, returns what to call with the count done so far."""


class _Update(NamedTuple):
    """What is new of an environment since the cache: its latest snapshot, and the list items and events after it."""

    latest: int
    listed: list[SnapshotSummary]
    events: list[Any]


class _Known(NamedTuple):
    """How far an environment's snapshot list and events are cached (read here, used by the workers)."""

    listed: int
    events: int


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
        """Every environment of the org (from the cache when offline), logical ones included."""
        if self.client is None:
            return self.cache.environments()
        return [name for name, _, _ in self._remember(self._listed())]

    def _listed(self) -> list[tuple[EnvName, str, list[str]]]:
        """The org's environments with their types and included environments (network only: may run in a worker)."""
        assert self.client is not None
        listing = []
        for item in self.client.environments():
            env = environment_name_or_none(item)
            if env is not None:
                included = item.get("included_environments")
                listing.append(
                    (
                        env,
                        clean_text(str(item.get("type") or "")),
                        [clean_text(str(e)) for e in included] if isinstance(included, list) else [],
                    )
                )
        return sorted(listing)

    def _remember(self, listing: list[tuple[EnvName, str, list[str]]]) -> list[tuple[EnvName, str, list[str]]]:
        self.cache.put_environments(listing)
        return listing

    def environment_types(self) -> dict[EnvName, str]:
        """Each known environment's type (`ECS`, `K8S`, `logical`, ...), as last listed."""
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
        """Several environments' histories: what is new fetched together, then the commits it lacks."""
        logical = self.cache.logical()
        for env in envs:
            if env in logical:
                raise UnknownEnvironmentError(
                    f"'{env}' is a logical environment, with no snapshots of its own; "
                    f"name one it includes ({', '.join(logical[env]) or 'none'})"
                )
        updates: dict[EnvName, _Update] = {}
        if self.client is not None:
            known = {env: self._known(env) for env in envs}
            fetched = _parallel(lambda env: self._update(env, known[env]), envs, self._fetching(len(envs)))
            updates = dict(zip(envs, fetched, strict=True))
        return self._assembled(envs, updates)

    def all_histories(self) -> dict[EnvName, list[Snapshot]]:
        """Every physical environment's history.

        The environments are listed while the ones already cached are brought up to date, so
        the listing costs no round trip of its own; one the org no longer lists is left out,
        and so is a logical one (it has no snapshots of its own).
        """
        logical = self.cache.logical()
        cached = [env for env in self.cache.environments() if env not in logical]
        if self.client is None:
            return self._assembled(cached, {})
        known = {env: self._known(env) for env in cached}
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            listing = pool.submit(self._listed)
            probes = {env: pool.submit(self._update, env, known[env]) for env in cached}
            names = [name for name, kind, _ in self._remember(listing.result()) if kind != "logical"]
            probes = {env: probes.get(env) or pool.submit(self._update, env, _Known(0, 0)) for env in names}
            progress = self._fetching(len(names))
            for done, _ in enumerate(as_completed(probes.values()), 1):
                if progress:
                    progress(done)
        return self._assembled(names, {env: probes[env].result() for env in names})

    def _fetching(self, total: int) -> Callable[[int], None] | None:
        return self._progress("Fetching environment histories", total) if self._progress else None

    def _known(self, env: EnvName) -> _Known:
        return _Known(self.cache.listed_through(env), self.cache.events_through(env))

    def _assembled(self, envs: Sequence[EnvName], updates: dict[EnvName, _Update]) -> dict[EnvName, list[Snapshot]]:
        """Histories replayed from the cached list and events plus what is new, then what is new is cached."""
        stored = set(self.cache.environments())
        logs: dict[EnvName, list[Any]] = {}
        lists: dict[EnvName, list[SnapshotSummary]] = {}
        for env in envs:
            update = updates.get(env)
            if update is None and env not in stored:
                raise OfflineError(self._not_cached(f"environment '{env}'"))
            through = self.cache.events_through(env)
            fresh = [e for e in update.events if through < event_index(e) <= update.latest] if update else []
            logs[env] = self.cache.events(env) + fresh
            listed = {s.index: s for s in self.cache.listed(env)}
            listed.update((s.index, s) for s in (update.listed if update else []))
            lists[env] = [listed[i] for i in sorted(listed)]
        provenance = self._provenance([e for log in logs.values() for e in log])
        result = {}
        for env in envs:  # every history is replayed (and so checked) before anything new is kept
            exact = {s.index: s for s in self.cache.history(env)} if env in stored else {}
            result[env] = replay_history(env, lists[env], logs[env], provenance, exact)
        for env, update in updates.items():
            self.cache.put_history(env, listed=update.listed, events=update.events, through=update.latest)
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
        summaries: list[SnapshotSummary] = []
        for page in self.client.snapshot_summaries(expr.env, per_page=min(newest, PER_PAGE)):
            summaries += [summary_from_json(item) for item in page]
            if len(summaries) >= newest:
                break
        return SnapshotRef(expr.env, resolve_index(expr, summaries[::-1], self._now()))

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
        """The snapshot list as cached: every index, with its start time, as the server would resolve against."""
        known = {s.index: SnapshotSummary(s.index, s.timestamp, s.compliant) for s in self.history(env)}
        if not known:
            raise OfflineError(self._not_cached(f"the snapshots of '{env}'"))
        return [known[i] for i in sorted(known)]

    def _not_cached(self, what: str) -> str:
        return f"{what} is not in the cache of org '{self.org}'; run without --offline to fetch it"

    # Histories from the snapshot list and the event log.

    def _update(self, env: EnvName, known: _Known) -> _Update:
        """The latest snapshot, and the list items and events after what is cached (network only: runs in a worker).

        The list comes newest first, a page at a time, until an index already cached: one
        request when fewer than a hundred snapshots are new. Events are asked for only when
        there are new snapshots, from the first one whose events are not cached.
        """
        assert self.client is not None
        latest, fresh = 0, []
        for page in self.client.snapshot_summaries(env):
            summaries = [summary_from_json(item) for item in page]
            latest = max([latest, *(s.index for s in summaries)])
            fresh += [s for s in summaries if s.index > known.listed]
            if any(s.index <= known.listed for s in summaries):
                break
        if latest <= known.events:
            return _Update(latest, fresh, [])
        events = events_from_json([e for page in self.client.events(env, start=known.events + 1) for e in page])
        return _Update(latest, fresh, list(events))

    def _provenance(self, events: Sequence[Any]) -> dict[str, tuple[Provenance, ...]]:
        """The flows and commits of every fingerprint in the events, fetching what the cache lacks.

        A flow is listed until every wanted fingerprint is found; those it does not list are
        remembered as not there (a row without a commit), and a flow Kosli answers 404 for is
        remembered as absent: neither is asked about again.
        """
        flows = flows_of_events(events)
        known = self.cache.provenance(Fingerprint(fp) for fp in flows)
        absent = self.cache.absent_flows()
        wanted: dict[str, set[str]] = {}
        for fp, names in flows.items():
            have = {p.flow for p in known.get(Fingerprint(fp), [])}
            for flow in (n for n in names if n not in have and n not in absent):
                if self.flow is None or flow == self.flow:
                    wanted.setdefault(flow, set()).add(fp)
        if wanted and self.client is not None:
            listed = _parallel(lambda item: self._list_flow(*item), list(wanted.items()))
            entries = [entry for found in listed if found is not None for entry in found]
            self.cache.put_provenance(entries)
            self.cache.put_absent_flows(flow for flow, found in zip(wanted, listed, strict=True) if found is None)
            for fp, entry in entries:
                known.setdefault(fp, []).append(entry)
        return {fp: _with_unknown_flows(known.get(Fingerprint(fp), []), names) for fp, names in flows.items()}

    def _list_flow(self, flow: str, fingerprints: set[str]) -> list[tuple[Fingerprint, Provenance]] | None:
        """Pages of a flow's artifacts, newest first, until every wanted fingerprint was seen; None: no such flow.

        The wanted fingerprints the flow does not list come back without a commit.
        """
        assert self.client is not None
        missing, entries = set(fingerprints), []
        try:
            for page in self.client.artifacts(flow=flow):
                for item in page:
                    entry = provenance_from_listing(flow, item)
                    if entry is not None:
                        entries.append(entry)
                        missing.discard(entry[0])
                if not missing:
                    break
        except ApiError as error:
            if error.status == 404:
                return None  # archived (`…-archived-at-…`) or deleted: Kosli no longer lists it
            raise
        return entries + [(Fingerprint(fp), Provenance(flow=flow, git_commit=None)) for fp in sorted(missing)]


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
