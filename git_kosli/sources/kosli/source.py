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
- Fetching is apart from reading: a history, the environment list or a flow's builds
  fetched less than `max_age` seconds ago are read from the cache with no request (and
  the client, with httpx, is never made). What is answered from older data without
  asking again (offline, or `keep_old`) is noted in `old`, for the command to say.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from git_kosli.errors import ApiError, OfflineError, SourceError, UnknownEnvironmentError
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
from git_kosli.sources.kosli.cache import BuildListings, Fetched, KosliCache, event_index
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
_Name = TypeVar("_Name", bound=str)
WORKERS = 8
ProgressFactory = Callable[[str, int], Callable[[int], None]]
"""Given a title and a total, returns what to call with the count done so far."""
Connect = Callable[[], KosliClient]
"""Makes the API client, on the first request: a read the cache answers checks no token and imports no httpx."""


class _Update(NamedTuple):
    """What is new of an environment since the cache: its latest snapshot, and the list items and events after it."""

    latest: int
    listed: list[SnapshotSummary]
    events: list[Any]
    started: float  # when its first request went out (`time.time()`): how recent the cache is after it


class _Known(NamedTuple):
    """How far an environment's snapshot list and events are cached (read here, used by the workers)."""

    listed: int
    events: int


class KosliSource:
    """Environments and snapshots of one Kosli org."""

    def __init__(
        self,
        connect: Connect | None,
        cache: KosliCache,
        *,
        org: str,
        flow: str | None = None,
        max_age: float = 0.0,
        keep_old: bool = False,
        now: Callable[[], datetime] = utc_now,
        progress: ProgressFactory | None = None,
    ) -> None:
        """`connect=None` is offline: only the cache answers; else it makes the client when a request is needed.

        `max_age`: seconds after a fetch within which the cache answers alone (0: always ask).
        `keep_old`: the cache answers whatever its age; only what was never fetched is asked for
        (the pre-push hook, which refreshes in the background). `progress` reports fetching histories.
        """
        self.online = connect is not None
        self.cache = cache
        self.org = org
        self.flow = flow
        self.max_age = max_age
        self.keep_old = keep_old
        self.old: dict[tuple[Fetched, str], float] = {}  # what answered without asking again, and when it was fetched
        self._connect = connect
        self._client: KosliClient | None = None
        self._connecting = threading.Lock()
        self._now = now
        self._progress = progress

    @property
    def client(self) -> KosliClient:
        """The API client, made on first use (by whichever worker asks first: one client, one pool)."""
        if self._connect is None:
            raise OfflineError(f"no request to the Kosli org '{self.org}' may be made offline")
        with self._connecting:
            if self._client is None:
                self._client = self._connect()
        return self._client

    def _due(self, kind: Fetched, names: Sequence[_Name]) -> list[_Name]:
        """Which of these to fetch: those never fetched, and those fetched `max_age` or longer ago (unless `keep_old`).

        None offline. What is read older than that instead is noted in `old`. A fetch dated in the
        future (the clock went back) is old, so the next fetch dates it again.
        """
        fetched = self.cache.fetched_at(kind, names)
        now = self._now().timestamp()
        old = {name: at for name, at in fetched.items() if not 0 <= now - at < self.max_age}
        if not self.online:
            due = []
        elif self.keep_old:
            due = [name for name in names if name not in fetched]
        else:
            due = [name for name in names if name not in fetched or name in old]
        self.old.update(((kind, name), at) for name, at in old.items() if name not in due)
        return due

    def environments(self) -> list[EnvName]:
        """Every environment of the org, logical ones included (as last listed, when that is recent or offline)."""
        if not self._due("environments", [""]):
            return self.cache.listed_environments()
        started = self._now().timestamp()
        return [name for name, _, _ in self._remember(self._listed(), started)]

    def _listed(self) -> list[tuple[EnvName, str, list[str]]]:
        """The org's environments with their types and included environments (network only: may run in a worker)."""
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

    def _remember(
        self, listing: list[tuple[EnvName, str, list[str]]], started: float
    ) -> list[tuple[EnvName, str, list[str]]]:
        self.cache.put_environments(listing, fetched_at=started)
        return listing

    def environment_types(self) -> dict[EnvName, str]:
        """Each known environment's type (`ECS`, `K8S`, `logical`, ...), as last listed."""
        return self.cache.environment_types()

    def resolve(self, expr: SnapshotExpr) -> Snapshot:
        """The snapshot an expression names."""
        return self.resolve_all([expr])[0]

    def resolve_all(self, exprs: Sequence[SnapshotExpr]) -> list[Snapshot]:
        """Several snapshots, the uncached ones fetched together.

        Latest-relative and time expressions resolve against the cached snapshot list when the
        environment's history is recent (or offline), else as Kosli resolves them.
        """
        relative = list(dict.fromkeys(e.env for e in exprs if not (isinstance(e, Numbered) and e.number > 0)))
        due = self._due("history", relative)
        cached = {env: self._cached_summaries(env) for env in relative if env not in due}
        refs = _parallel(lambda expr: self._ref_or_fetch(expr, cached.get(expr.env)), exprs)
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
        self._require_physical(envs)
        due = self._due("history", envs)
        known = {env: self._known(env) for env in due}
        fetched = _parallel(lambda env: self._update(env, known[env]), due, self._fetching(len(due)) if due else None)
        return self._assembled(envs, dict(zip(due, fetched, strict=True)))

    def _require_physical(self, envs: Sequence[EnvName]) -> None:
        """Refuse a logical environment: it has no snapshots of its own."""
        logical = self.cache.logical()
        for env in envs:
            if env in logical:
                raise UnknownEnvironmentError(
                    f"'{env}' is a logical environment, with no snapshots of its own; "
                    f"name one it includes ({', '.join(logical[env]) or 'none'})"
                )

    def all_histories(self) -> dict[EnvName, list[Snapshot]]:
        """Every physical environment's history.

        When the environment list is recent, the histories of the ones it lists are read as
        `histories` reads them. Else the environments are listed while the cached ones that are
        not recent are brought up to date, so the listing costs no round trip of its own; one the
        org no longer lists is left out, and so is a logical one (it has no snapshots of its own).
        """
        logical = self.cache.logical()
        if not self._due("environments", [""]):
            return self.histories([env for env in self.cache.listed_environments() if env not in logical])
        cached = [env for env in self.cache.environments() if env not in logical]
        due = self._due("history", cached)
        known = {env: self._known(env) for env in due}
        started = self._now().timestamp()
        from concurrent.futures import ThreadPoolExecutor, as_completed  # only to fetch: a warm read saves 7 ms

        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            listing = pool.submit(self._listed)
            probes = {env: pool.submit(self._update, env, known[env]) for env in due}
            names = [name for name, kind, _ in self._remember(listing.result(), started) if kind != "logical"]
            for env in self._due("history", [env for env in names if env not in probes]):
                probes[env] = pool.submit(self._update, env, self._known(env))
            probes = {env: probes[env] for env in names if env in probes}
            progress = self._fetching(len(probes))
            for done, _ in enumerate(as_completed(probes.values()), 1):
                if progress:
                    progress(done)
        return self._assembled(names, {env: probe.result() for env, probe in probes.items()})

    def _fetching(self, total: int) -> Callable[[int], None] | None:
        return self._progress("Fetching environment histories", total) if self._progress else None

    def _known(self, env: EnvName) -> _Known:
        return _Known(self.cache.listed_through(env), self.cache.events_through(env))

    def _assembled(self, envs: Sequence[EnvName], updates: dict[EnvName, _Update]) -> dict[EnvName, list[Snapshot]]:
        """Histories replayed from the cached list and events plus what is new, then what is new is cached.

        A history nothing new came for, replayed before from what the cache still holds, is read as
        it was replayed (its key says from what); the others are replayed and kept for next time.
        """
        stored = set(self.cache.environments())
        kept: dict[EnvName, list[Snapshot]] = {}
        for env in (env for env in envs if env in stored and env not in updates):
            history = self.cache.replayed(env, self.cache.replay_key(env, self.flow))
            if history is not None:
                kept[env] = history
        replayed = self._replayed([env for env in envs if env not in kept], updates, stored)
        return {env: kept[env] if env in kept else replayed[env] for env in envs}

    def _replayed(
        self, envs: Sequence[EnvName], updates: dict[EnvName, _Update], stored: set[EnvName]
    ) -> dict[EnvName, list[Snapshot]]:
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
        provenance, complete = self._provenance([e for log in logs.values() for e in log])
        result = {}
        for env in envs:  # every history is replayed (and so checked) before anything new is kept
            exact = {s.index: s for s in self.cache.history(env)} if env in stored else {}
            result[env] = replay_history(env, lists[env], logs[env], provenance, exact)
        for env, update in updates.items():
            self.cache.put_history(
                env, listed=update.listed, events=update.events, through=update.latest, fetched_at=update.started
            )
        if complete:  # a history replayed without provenance still to look up would stay without it
            keep = {env: (self.cache.replay_key(env, self.flow), result[env]) for env in envs}
            with contextlib.suppress(SourceError):  # kept only to save the next read a replay
                self.cache.put_replayed(keep)
        return result

    # This repository's builds: its flows' artifact lists.

    def builds(self, flows: Sequence[str]) -> list[FlowArtifact]:
        """Every artifact these flows recorded, deployed or not: pages newer than the cache holds are fetched first.

        Only for the flows whose listing is not recent: when every one is, the cache answers alone.
        """
        due = self._due("builds", flows)
        if due:
            listings = BuildListings(self.cache)
            cached = {flow: listings.known(flow) if listings.listed(flow) else None for flow in due}
            started = self._now().timestamp()
            fetched = _parallel(lambda flow: self._new_builds(flow, cached[flow]), due)
            listings.put(dict(zip(due, fetched, strict=True)), fetched_at=started)
            self.cache.put_provenance(
                (b.fingerprint, Provenance(b.flow, b.git_commit, b.commit_url)) for found in fetched for b in found
            )
        return self.cache.builds(flows)

    def _new_builds(self, flow: str, cached: set[str] | None) -> list[FlowArtifact]:
        """The flow's builds that are not cached: pages, newest first, until one holds a build already cached.

        `cached` is None when the flow was never listed whole. A flow Kosli no longer knows
        (archived or deleted: 404) has no builds to add. Network only: runs in a worker.
        """
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

    def _ref_or_fetch(self, expr: SnapshotExpr, cached: list[SnapshotSummary] | None) -> SnapshotRef | Snapshot:
        """A numbered reference, or the snapshot itself when only the server can resolve the expression.

        `cached`: the environment's snapshot list to resolve against, None when Kosli is asked.
        """
        if isinstance(expr, Numbered) and expr.number > 0:
            return SnapshotRef(expr.env, expr.number)
        if cached is not None:
            return SnapshotRef(expr.env, resolve_index(expr, cached, self._now()))
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
        if not self.online:
            raise OfflineError(self._not_cached(str(ref)))
        return snapshot_from_json(self.client.snapshot(ref.env, snapshot_segment(f"#{ref.index}")), ref.env)

    def _cached(self, ref: SnapshotRef) -> Snapshot:
        snapshot = self.cache.snapshot_or_none(ref)
        if snapshot is None:
            raise OfflineError(self._not_cached(str(ref)))
        return snapshot

    def _cached_summaries(self, env: EnvName) -> list[SnapshotSummary]:
        """The snapshot list as cached: every index, with its start time, as the server would resolve against.

        Read straight from the cached list when it holds every number, each dated, through the last
        cached events (a snapshot fetched whole standing for itself): what replaying would give,
        without the replay. Else from the replayed history, which dates a snapshot by its events.
        """
        self._require_physical([env])
        listed = {s.index: s for s in self.cache.listed(env)}
        whole = len(listed) == max(listed, default=-1) >= self.cache.events_through(env)
        if whole and all(s.timestamp for s in listed.values()):
            listed.update((s.index, s) for s in self.cache.summaries(env))
            return [listed[i] for i in sorted(listed)]
        history = self._assembled([env], {})[env]
        known = {s.index: SnapshotSummary(s.index, s.timestamp, s.compliant) for s in history}
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
        started = self._now().timestamp()
        latest, fresh = 0, []
        for page in self.client.snapshot_summaries(env):
            summaries = [summary_from_json(item) for item in page]
            latest = max([latest, *(s.index for s in summaries)])
            fresh += [s for s in summaries if s.index > known.listed]
            if any(s.index <= known.listed for s in summaries):
                break
        if latest <= known.events:
            return _Update(latest, fresh, [], started)
        events = events_from_json([e for page in self.client.events(env, start=known.events + 1) for e in page])
        return _Update(latest, fresh, list(events), started)

    def _provenance(self, events: Sequence[Any]) -> tuple[dict[str, tuple[Provenance, ...]], bool]:
        """The flows and commits of every fingerprint in the events, fetching what the cache lacks; and whether whole.

        A flow is listed until every wanted fingerprint is found; those it does not list are
        remembered as not there (a row without a commit), and a flow Kosli answers 404 for is
        remembered as absent: neither is asked about again. Offline, what is not cached stays
        unknown, and the answer is not whole.
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
        if wanted and self.online:
            listed = _parallel(lambda item: self._list_flow(*item), list(wanted.items()))
            entries = [entry for found in listed if found is not None for entry in found]
            self.cache.put_provenance(entries)
            self.cache.put_absent_flows(flow for flow, found in zip(wanted, listed, strict=True) if found is None)
            for fp, entry in entries:
                known.setdefault(fp, []).append(entry)
        whole = not wanted or self.online
        return {fp: _with_unknown_flows(known.get(Fingerprint(fp), []), names) for fp, names in flows.items()}, whole

    def _list_flow(self, flow: str, fingerprints: set[str]) -> list[tuple[Fingerprint, Provenance]] | None:
        """Pages of a flow's artifacts, newest first, until every wanted fingerprint was seen; None: no such flow.

        The wanted fingerprints the flow does not list come back without a commit.
        """
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
        from concurrent.futures import ThreadPoolExecutor, as_completed

        with ThreadPoolExecutor(max_workers=min(WORKERS, len(items))) as pool:
            futures = [pool.submit(work, item) for item in items]
            for done, _ in enumerate(as_completed(futures), 1):
                if progress:
                    progress(done)
            return [f.result() for f in futures]
    if progress:
        progress(len(results))
    return results
