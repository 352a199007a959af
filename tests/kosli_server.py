"""A Kosli API v2 server on 127.0.0.1 for tests and benchmarks.

It answers the read endpoints with the shapes in `kosli-api.md` (and the recorded
responses in `tests/fixtures/`), built from the model's snapshots: running and
exited artifacts, several flows per artifact (in an order that varies between
artifacts, snapshots and events, as Kosli lists them; `vary_flow_order=False` keeps
the model's order), artifacts without provenance and without a digest (`fingerprint:
""`, events with `sha256: null`), snapshots with no events (nothing changed but the
report), logical environments, events as the real server words them ("from 0 to 3"
only where instances start or stop; `changed`, `updated-provenance` and `became-*`
say "N instance(s) changed"), flow artifact lists (404 for a flow it does not have, or
an archived one; builds never deployed too, newest first), all in pages of at most 100
(more is a 422, as FastAPI answers).
Every request is logged, and faults can be queued per path: an HTTP status (with
headers), a slow answer, truncated JSON, an HTML error page, a body past any sane
size, a decompression bomb, an answer dripped a byte at a time, pages that never end
(`endless`, `same` page); and the server can speak TLS with a certificate of its own
(`tls_certificate`).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from git_kosli.model import Artifact, FlowArtifact, Snapshot

MAX_PER_PAGE = 100


@dataclass(frozen=True)
class Request:
    """One request as the server saw it."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class Fault:
    """What to do instead of answering.

    `status` (with `headers`), `slow` (answer after `seconds`), `truncated`, `html`, `huge` (65 MiB, its
    length not declared), `bomb` (65 MiB once gunzipped, 64 KiB sent), `drip` (a byte every `seconds`,
    headers too, for as long as the client listens), `silent` (never a byte back), `json` (`body` instead
    of the answer: a malformed one), `held` (answered once the test opens `server.gate`, or after `seconds`).
    """

    kind: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    body: Any = None


_BIG = 65 * 1024 * 1024  # past the client's 64 MiB
_BOMB: list[bytes] = []


def _bomb() -> bytes:
    """A gzip stream of 65 MiB of spaces: tens of kilobytes on the wire, made once."""
    if not _BOMB:
        import gzip

        _BOMB.append(gzip.compress(b" " * _BIG, compresslevel=9))
    return _BOMB[0]


class Fail(Exception):
    """An error answer: status and Kosli's `{"message": ...}` envelope."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class KosliServer:
    """The org's data, the request log and queued faults, served on a free loopback port."""

    def __init__(
        self,
        org: str = "acme",
        token: str | None = "test-token",
        tls_certificate: tuple[str, str] | None = None,
        *,
        vary_flow_order: bool = True,
    ) -> None:
        """`tls_certificate`: (certificate file, key file) to answer over https; `vary_flow_order`: see above."""
        self.org = org
        self.token = token
        self.pages: str | None = None  # None, or `endless` / `same`: how listings page
        self.vary_flow_order = vary_flow_order
        self.snapshots: dict[str, list[dict[str, Any]]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.logical: dict[str, list[str]] = {}
        self.flow_artifacts: dict[str, list[dict[str, Any]]] = {}
        self.recorded: dict[tuple[str, int], dict[str, Any]] = {}  # bodies Kosli sent, served at their own number
        self.archived: set[str] = set()
        self.requests: list[Request] = []
        self.timeline: list[tuple[str, str]] = []  # ("asked" | "answered", path), in the order they happened
        self.faults: list[tuple[str, Fault]] = []
        self.gate = threading.Event()  # opened by a test to let `held` answers go
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._http.daemon_threads = True
        self.scheme = "http"
        if tls_certificate is not None:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls_certificate)
            self._http.socket = context.wrap_socket(self._http.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        """The base address to use as KOSLI_HOST."""
        return f"{self.scheme}://127.0.0.1:{self._http.server_address[1]}"

    def __enter__(self) -> KosliServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()

    def env(self, **extra: str) -> dict[str, str]:
        """`KOSLI_*` variables that point `git kosli` at this server."""
        values = {"KOSLI_HOST": self.url, "KOSLI_ORG": self.org, **extra}
        if self.token:
            values["KOSLI_API_TOKEN"] = self.token
        return values

    # Data.

    def add(self, *snapshots: Snapshot, env_type: str = "ECS") -> None:
        """Append snapshots (numbered consecutively per environment) with their events and flow listings."""
        for snapshot in snapshots:
            history = self.snapshots.setdefault(snapshot.env, [])
            assert snapshot.index == len(history) + 1, "snapshots are numbered 1, 2, ... per environment"
            previous = history[-1] if history else None
            body = snapshot_json(snapshot, previous, env_type, vary_flow_order=self.vary_flow_order)
            if previous is not None:
                previous["is_latest"] = False
                previous["next_snapshot_timestamp"] = body["timestamp"]
            history.append(body)
            self.events.setdefault(snapshot.env, []).extend(
                events_json(snapshot.env, body, vary_flow_order=self.vary_flow_order)
            )
            self._list_artifacts(snapshot)

    def add_logical(self, name: str, includes: Sequence[str]) -> None:
        """A logical environment: it groups physical ones and has no snapshots of its own."""
        self.logical[name] = list(includes)

    def archive(self, flow: str) -> None:
        """Archive a flow: its artifacts are no longer listed (404), though snapshots still name it."""
        self.archived.add(flow)

    def _list_artifacts(self, snapshot: Snapshot) -> None:
        for artifact in snapshot.artifacts:
            if not artifact.fingerprint:
                continue  # no digest: no flow can have been told of it
            for entry in artifact.provenance:
                listed = self.flow_artifacts.setdefault(entry.flow, [])
                if any(item["fingerprint"] == artifact.fingerprint for item in listed):
                    continue
                listed.insert(
                    0,
                    {  # newest first, as Kosli lists them
                        "fingerprint": artifact.fingerprint,
                        "filename": artifact.name,
                        "git_commit": entry.git_commit,
                        "commit_url": entry.commit_url or "",
                        "build_url": "https://ci.example/build",
                        "state": "COMPLIANT",
                        "created_at": snapshot.timestamp - 60,
                    },
                )
                listed.sort(key=lambda item: -float(item["created_at"] or 0))  # a build added before may be newer

    def add_recorded(self, env: str, *bodies: dict[str, Any]) -> None:
        """Snapshots exactly as Kosli sent them (tests/fixtures), answered at `GET /snapshots/ORG/ENV/N`."""
        for body in bodies:
            self.recorded[(env, int(body["index"]))] = body

    def add_builds(self, *builds: FlowArtifact) -> None:
        """Builds their flows recorded, deployed or not: listed with the rest, newest `created_at` first."""
        for build in builds:
            listed = self.flow_artifacts.setdefault(build.flow, [])
            listed[:] = [item for item in listed if item["fingerprint"] != build.fingerprint]
            listed.append(
                {
                    "fingerprint": build.fingerprint,
                    "filename": build.name,
                    "git_commit": build.git_commit,
                    "commit_url": build.commit_url or "",
                    "build_url": "https://ci.example/build",
                    "state": "COMPLIANT",
                    "created_at": build.created_at,
                    "html_url": f"https://app.kosli.com/{self.org}/flows/{build.flow}/artifacts/{build.fingerprint}",
                }
            )
            listed.sort(key=lambda item: -float(item["created_at"] or 0))

    def fail(self, path_part: str, *faults: Fault) -> None:
        """Queue faults for the next requests whose path contains `path_part`."""
        with self._lock:
            self.faults.extend((path_part, f) for f in faults)

    def count(self, path_part: str = "") -> int:
        """How many requests had `path_part` in their path."""
        return sum(path_part in r.path for r in self.requests)

    # Serving.

    def take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for position, (part, fault) in enumerate(self.faults):
                if part in path:
                    del self.faults[position]
                    return fault
        return None

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[Any, dict[str, str]]:
        """The JSON body and extra headers for a GET, or raise Fail."""
        parts = [unquote(p) for p in path.removeprefix("/api/v2/").split("/")]
        if len(parts) < 2 or parts[1] != self.org:
            raise Fail(404, f"Organization '{parts[1] if len(parts) > 1 else ''}' does not exist")
        kind, rest = parts[0], parts[2:]
        if kind == "environments" and not rest:
            return self._environments(query), {}
        if kind == "environments" and len(rest) == 1:
            return self._environment(rest[0]), {}
        if kind == "environments" and len(rest) == 2 and rest[1] == "events":
            items, headers = self._events(rest[0], query)
            return self._paged_wrongly(items, query) if self.pages else (items, headers)
        if kind == "snapshots" and len(rest) == 1:
            return self._summaries(rest[0], query), {}
        number = rest[1].lstrip("#") if kind == "snapshots" and len(rest) == 2 else ""
        if number.isdigit() and (rest[0], int(number)) in self.recorded:
            return self.recorded[(rest[0], int(number))], {}
        if kind == "snapshots" and len(rest) == 2:
            return self._snapshot(rest[0], rest[1]), {}
        if kind == "artifacts" and not rest:
            return _page(self._flow_listing(_one(query, "flow_name")), query)
        if kind == "artifacts" and len(rest) == 3 and rest[1] == "fingerprint":
            return self._artifact(rest[0], rest[2]), {}
        if kind == "artifacts" and len(rest) == 3 and rest[1] == "commit_sha":
            return [i for i in self._flow_listing(rest[0]) if (i["git_commit"] or "").startswith(rest[2])], {}
        if kind == "search" and len(rest) == 2 and rest[0] == "sha":
            return self._search(rest[1]), {}
        if kind == "env-diff" and not rest:
            return self._diff(_one(query, "snappish1"), _one(query, "snappish2")), {}
        if kind == "repos" and len(rest) == 2 and rest[0] == "live-artifacts":
            return self._live(rest[1]), {}
        raise Fail(404, "Not Found")

    def _paged_wrongly(self, items: list[dict[str, Any]], query: dict[str, list[str]]) -> tuple[Any, dict[str, str]]:
        """A broken server's pages: `same` ignores the page asked for; `endless` makes up a full page for each."""
        first = self.events[next(iter(self.events))][0]
        per_page = int(_one(query, "per_page") or 15)
        page = 1 if self.pages == "same" else int(_one(query, "page") or 1)
        return [{**first, "description": f"page {page} item {i}"} for i in range(per_page)], {}

    def _environments(self, query: dict[str, list[str]]) -> Any:
        items = [self._environment(name) for name in sorted([*self.snapshots, *self.logical])]
        if "page" not in query and "per_page" not in query:
            return items
        page, headers = _page(items, query)
        return {
            "page": int(headers["X-Current-Page"]),
            "per_page": int(headers["X-Per-Page"]),
            "total_pages": int(headers["X-Total-Pages"]),
            "total_count": len(items),
            "environments": page,
        }

    def _environment(self, env: str) -> dict[str, Any]:
        if env in self.logical:
            return {
                "org": self.org,
                "name": env,
                "type": "logical",
                "description": "",
                "last_modified_at": 0.0,
                "last_reported_at": None,
                "state": None,
                "tags": {},
                "policies": None,
                "included_environments": self.logical[env],
            }
        history = self._history(env)
        return {
            "org": self.org,
            "name": env,
            "type": history[-1]["type"] if history else "ECS",
            "description": "",
            "last_modified_at": history[-1]["timestamp"] if history else 0.0,
            "last_reported_at": history[-1]["timestamp"] if history else None,
            "state": None,
            "tags": {},
            "policies": [],
            "included_environments": None,
        }

    def _history(self, env: str) -> list[dict[str, Any]]:
        if env in self.logical:
            return []  # no snapshots of its own
        if env not in self.snapshots:
            raise Fail(404, f"Environment named '{env}' does not exist for organization '{self.org}'")
        return self.snapshots[env]

    def _summaries(self, env: str, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        history = self._history(env)
        items = [
            {
                "index": s["index"],
                "from": s["timestamp"],
                "to": s["next_snapshot_timestamp"] or 0.0,
                "compliant": s["compliant"],
                "duration": 60.0,
            }
            for s in history
        ]
        if _one(query, "reverse") != "true":
            items.reverse()
        return _page(items, query)[0]  # no pagination headers on this endpoint

    def _snapshot(self, env: str, expr: str) -> dict[str, Any]:
        history = self._history(env)
        index = resolve_expression(expr, [s["timestamp"] for s in history])
        if not 1 <= index <= len(history):
            raise Fail(
                404,
                f"Org: '{self.org}'. Snapshot '{env}{expr}' resolves to '{env}#{index}'. "
                f"len(snapshots) == {len(history)}. Indexes are 1-based",
            )
        return history[index - 1]

    def _events(self, env: str, query: dict[str, list[str]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
        self._history(env)
        if env in self.logical:
            raise Fail(400, f"Environment '{env}' is logical: it has no events of its own")
        start = int(_one(query, "start") or 1)
        items = [e for e in self.events.get(env, []) if e["snapshot_index"] >= start]
        if _one(query, "reverse") != "true":
            items.reverse()
        return _page(items, query)

    def _flow_listing(self, flow: str) -> list[dict[str, Any]]:
        if flow not in self.flow_artifacts or flow in self.archived:
            raise Fail(404, f"Flow named '{flow}' does not exist for organization '{self.org}'")
        return self.flow_artifacts[flow]

    def _artifact(self, flow: str, fingerprint: str) -> dict[str, Any]:
        for item in self._flow_listing(flow):
            if item["fingerprint"].startswith(fingerprint):
                return {**item, "flow_name": flow, "running": self._running(item["fingerprint"])}
        raise Fail(
            404,
            f"Artifact with fingerprint '{fingerprint}' does not exist in flow '{flow}' "
            f"belonging to organization '{self.org}'",
        )

    def _running(self, fingerprint: str) -> list[dict[str, Any]]:
        return [
            {"environment_name": env, "snapshot_index": h[-1]["index"]}
            for env, h in self.snapshots.items()
            if any(a["fingerprint"] == fingerprint and a["annotation"]["now"] > 0 for a in h[-1]["artifacts"])
        ]

    def _search(self, value: str) -> dict[str, Any]:
        if len(value) < 5 or not re.fullmatch(r"[0-9a-f]+", value):
            raise Fail(400, f"'{value}' has non-hex characters or is too short")
        hits = [
            (flow, i)
            for flow, items in self.flow_artifacts.items()
            for i in items
            if i["fingerprint"].startswith(value) or (i["git_commit"] or "").startswith(value)
        ]
        if not hits:
            raise Fail(404, f"No matches for '{value}'.")
        return {
            "resolved_to": {"type": "commit" if hits[0][1]["git_commit"].startswith(value) else "fingerprint"},
            "artifacts": [
                {
                    **i,
                    "flow": flow,
                    "has_provenance": True,
                    "running_in": [r["environment_name"] for r in self._running(i["fingerprint"])],
                }
                for flow, i in hits
            ],
        }

    def _diff(self, left: str, right: str) -> dict[str, Any]:
        one, two = (self._by_snappish(s) for s in (left, right))
        fps1, fps2 = ({a["fingerprint"] for a in s["artifacts"] if a["annotation"]["now"]} for s in (one, two))
        info = [
            {"fingerprint": a["fingerprint"], "name": a["name"], "flow": a["flow_name"], "commit_url": a["commit_url"]}
            for s in (one, two)
            for a in s["artifacts"]
        ]
        return {
            "snappish1": {"snapshot_id": left, "artifacts": [i for i in info if i["fingerprint"] in fps1 - fps2]},
            "snappish2": {"snapshot_id": right, "artifacts": [i for i in info if i["fingerprint"] in fps2 - fps1]},
            "changed": {"artifacts": []},
            "not-changed": {"artifacts": []},
        }

    def _by_snappish(self, text: str) -> dict[str, Any]:
        env = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", text)
        name = env.group() if env else text
        return self._snapshot(name, text[len(name) :] or "-1")

    def _live(self, repo: str) -> dict[str, Any]:
        live = [
            {
                "environment_id": env,
                "artifact_id": a["fingerprint"],
                "artifact_name": a["name"],
                "snapshot_index": h[-1]["index"],
            }
            for env, h in self.snapshots.items()
            for a in h[-1]["artifacts"]
            if a["annotation"]["now"] and repo in (a["commit_url"] or "")
        ]
        return {"live_artifacts": live}


def _one(query: dict[str, list[str]], name: str) -> str:
    return query.get(name, [""])[-1]


def _page(items: Sequence[Any], query: dict[str, list[str]]) -> tuple[list[Any], dict[str, str]]:
    page, per_page = int(_one(query, "page") or 1), int(_one(query, "per_page") or 15)
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise Fail(422, f"per_page: ensure this value is between 1 and {MAX_PER_PAGE}")
    total = max(1, -(-len(items) // per_page))
    headers = {
        "X-Total-Count": str(len(items)),
        "X-Per-Page": str(per_page),
        "X-Current-Page": str(page),
        "X-Total-Pages": str(total),
    }
    return list(items[(page - 1) * per_page : page * per_page]), headers


def resolve_expression(expr: str, timestamps: Sequence[float], now: float | None = None) -> int:
    """The snapshot number a path segment names: `N`, `-N`, `#N`, `~N`, `@{now}`, `@{TIME}`, `@{N.unit.ago}`."""
    latest = len(timestamps)
    if re.fullmatch(r"#?\d+", expr):
        return int(expr.lstrip("#"))
    if re.fullmatch(r"-\d+", expr):
        return latest + 1 + int(expr)
    if re.fullmatch(r"~\d+", expr):
        return latest - int(expr[1:])
    match = re.fullmatch(r"@\{(.+)\}", expr)
    if not match:
        raise Fail(400, f"invalid snapshot expression '{expr}'")
    when = match.group(1)
    now = time.time() if now is None else now
    ago = re.fullmatch(r"(\d+)\.(hour|day|week|month)s?\.ago", when)
    if when == "now":
        moment = now
    elif ago:
        unit = {"hour": 3600, "day": 86400, "week": 604800, "month": 2592000}[ago.group(2)]
        moment = now - int(ago.group(1)) * unit
    else:
        moment = datetime.strptime(when, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
    return sum(t <= moment for t in timestamps)


def _identity(artifact: dict[str, Any]) -> tuple[str, str]:
    """What Kosli knows an artifact by: its fingerprint, or its name when it has no digest."""
    return (artifact["fingerprint"], "") if artifact["fingerprint"] else ("", artifact["name"])


def _flows(artifact: Artifact, turn: int, *, vary: bool) -> list[dict[str, Any]]:
    """The artifact's `flows[]` entries; with `vary`, rotated by `turn`, as real snapshots list them."""
    flows: list[dict[str, Any]] = [
        {
            "flow_name": p.flow,
            "trail_name": p.git_commit or "",
            "git_commit": p.git_commit or "",
            "commit_url": p.commit_url or "",
            "deployment_diff": {},
            "artifact_compliance_in_flow": True,
        }
        for p in artifact.provenance
    ]
    if vary and flows:
        turn %= len(flows)
        flows = flows[turn:] + flows[:turn]
    return flows


def _change(before: dict[str, Any] | None, after: dict[str, Any]) -> str:
    """The annotation type of an artifact against the same one in the snapshot before."""
    if before is None:
        compliance = {True: "compliant", False: "non-compliant"}.get(after["compliant"], "unknown")
        return f"started-{compliance}"
    if (
        before["annotation"]["now"] != after["annotation"]["now"]
        or before["creationTimestamp"] != after["creationTimestamp"]
    ):
        return "changed"
    if sorted(f["flow_name"] for f in before["flows"]) != sorted(f["flow_name"] for f in after["flows"]):
        return "updated-provenance"
    if before["compliant"] != after["compliant"]:
        return "became-compliant" if after["compliant"] else "became-non-compliant"
    return "unchanged"


def snapshot_json(
    snapshot: Snapshot, previous: dict[str, Any] | None, env_type: str = "ECS", *, vary_flow_order: bool = False
) -> dict[str, Any]:
    """A `GetSnapshotResponse`: the running artifacts, plus those that exited in this snapshot (`now: 0`)."""
    before = {_identity(a): a for a in (previous or {}).get("artifacts", []) if a["annotation"]["now"] > 0}
    artifacts = []
    for position, artifact in enumerate(snapshot.artifacts):
        instances = artifact.instances or 1
        flows = _flows(artifact, snapshot.index + position, vary=vary_flow_order)
        entry: dict[str, Any] = {
            "name": artifact.name,
            "fingerprint": artifact.fingerprint,
            "compliant": artifact.compliant,
            "deployments": [],
            "policy_decisions": [],
            "reasons_for_incompliance": [],
            "creationTimestamp": [int(artifact.started_at)] * instances if artifact.started_at else [],
            "pods": None,
            "flow_name": flows[0]["flow_name"] if flows else "",
            "git_commit": flows[0]["git_commit"] if flows else "",
            "commit_url": flows[0]["commit_url"] if flows else "",
            "flows": flows,
        }
        previously = before.pop(_identity(entry), None)
        was = previously["annotation"]["now"] if previously else 0
        entry["annotation"] = {"type": "", "was": was, "now": instances}
        entry["annotation"]["type"] = _change(previously, entry)
        artifacts.append(entry)
    for gone in before.values():
        artifacts.append({**gone, "annotation": {"type": "exited", "was": gone["annotation"]["now"], "now": 0}})
    return {
        "index": snapshot.index,
        "is_latest": True,
        "next_snapshot_timestamp": None,
        "timestamp": snapshot.timestamp,
        "type": env_type,
        "compliant": snapshot.compliant,
        "artifacts": artifacts,
        "applied_policies": [],
        "artifact_compliance_count": {"true": len(artifacts), "false": 0, "null": 0},
        "html_url": f"https://app.kosli.com/acme/environments/{snapshot.env}/snapshots/{snapshot.index}",
    }


def _instances(count: int) -> str:
    return f"{count} instance{'' if count == 1 else 's'}"


def events_json(env: str, body: dict[str, Any], *, vary_flow_order: bool = False) -> Iterable[dict[str, Any]]:
    """The events that made a snapshot, one per artifact that started, changed or exited in it, worded as Kosli does.

    Only starting and stopping state counts ("from 0 to 3"); every other change says "N instance(s) changed".
    """
    for position, artifact in enumerate(body["artifacts"]):
        note = artifact["annotation"]
        if note["type"] == "unchanged":
            continue
        if note["was"] == 0:
            description = f"{_instances(note['now'])} started running (from 0 to {note['now']})"
        elif note["now"] == 0:
            description = f"{_instances(note['was'])} stopped running (from {note['was']} to 0)"
        else:
            description = f"{_instances(note['now'])} changed"
        flows: list[dict[str, Any]] = [{"flow_name": f["flow_name"], "deployments": None} for f in artifact["flows"]]
        if vary_flow_order and len(flows) > 1 and position % 2:  # the order differs from the snapshot's too
            flows = flows[1:] + flows[:1]
        yield {
            "environment_name": env,
            "snapshot_index": body["index"],
            "artifact_name": artifact["name"],
            "sha256": artifact["fingerprint"] or None,
            "reported_at": body["timestamp"],
            "type": note["type"],
            "description": description,
            "pipeline": artifact["flow_name"],
            "deployments": [],
            "flows": flows,
            "artifact_compliance": artifact["compliant"],
            "snapshot_compliance": body["compliant"],
            "code_diff": None,
        }


def _handler(server: KosliServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the request log is `server.requests`."""

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query, keep_blank_values=True)
            server.requests.append(Request(url.path, query, {k.lower(): v for k, v in self.headers.items()}))
            server.timeline.append(("asked", url.path))
            fault = server.take_fault(url.path)
            if fault is not None and self._fault(fault):
                return
            if server.token and self.headers.get("Authorization") != f"Bearer {server.token}":
                self._send(401, {"message": "Invalid API token"})
                return
            try:
                body, headers = server.answer(url.path, query)
            except Fail as error:
                self._send(error.status, {"message": str(error)})
                return
            self._send(200, body, headers)

        def _fault(self, fault: Fault) -> bool:
            """Act out a fault; False when the request should then be answered normally (a slow answer)."""
            if fault.kind == "slow":
                time.sleep(fault.seconds)
                return False
            if fault.kind == "held":
                server.gate.wait(fault.seconds)
                return False
            if fault.kind == "silent":
                time.sleep(3600)  # a daemon thread: the server's shutdown does not wait for it
                return True
            if fault.kind == "drip":
                self._drip(fault.seconds)
                return True
            if fault.kind == "huge":
                self._huge()
            elif fault.kind == "json":
                self._send(fault.status, fault.body, fault.headers)
            elif fault.kind == "bomb":
                self._raw(200, "application/json", _bomb(), {"Content-Encoding": "gzip"})
            elif fault.kind == "truncated":
                self._raw(200, "application/json", b'[{"index": 3, "from": 17900')
            elif fault.kind == "html":
                self._raw(fault.status, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>")
            else:
                self._send(fault.status, {"message": f"injected {fault.status}"}, fault.headers)
            return True

        def _drip(self, seconds: float) -> None:
            """A byte at a time, headers and all: a well-formed answer that ends only when the client goes (or 60 s)."""
            start = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n["
            ends = time.monotonic() + 60
            position = 0
            try:
                while time.monotonic() < ends:
                    self.wfile.write(start[position : position + 1] or b" ")
                    self.wfile.flush()
                    position += 1
                    time.sleep(seconds)
            except OSError:
                return  # the client gave up

        def _huge(self) -> None:
            """A JSON list of 65 MiB, its length not declared: the connection's end marks the body's."""
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            chunk = b" " * (1 << 20)
            try:
                self.wfile.write(b"[")
                for _ in range(_BIG // len(chunk)):
                    self.wfile.write(chunk)
                self.wfile.write(b"]")
            except OSError:
                return  # the client stopped reading, as it should

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            self._raw(status, "application/json", json.dumps(body).encode(), headers)

        def _raw(self, status: int, kind: str, data: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
            server.timeline.append(("answered", urlsplit(self.path).path))

    return Handler
