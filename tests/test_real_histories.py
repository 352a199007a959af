"""Environment histories as the real Kosli server keeps them: snapshot lists, events, and what they do not say.

The loopback server words events as Kosli does, leaves snapshots without events, carries artifacts
without a digest, groups environments into logical ones and forgets archived flows. The embedded
store, fed the same snapshots whole, is the oracle for what every command must answer.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from git_kosli.errors import ApiError
from git_kosli.model import NO_FINGERPRINT, Artifact, CommitSha, EnvName, Provenance, Snapshot
from git_kosli.snapshot_expr import Numbered
from git_kosli.sources.kosli.api import KosliClient
from git_kosli.sources.kosli.cache import KosliCache
from git_kosli.sources.kosli.json import replay_history, snapshot_from_json, summary_from_json
from git_kosli.sources.kosli.source import KosliSource
from git_kosli.sources.settings import load_settings
from tests.conftest import RunCli
from tests.factory import artifact, history, seed
from tests.gitrepo import GitRepo, git
from tests.kosli_server import Fault, KosliServer

URL = "https://github.com/acme/web"
FIXTURES = Path(__file__).parent / "fixtures"
BETA = EnvName("aws-beta")
TAGGED = Artifact("registry.example/nginx:1.27", NO_FINGERPRINT, instances=2, started_at=1_790_000_100.0)


def web(commit: str, instances: int = 1) -> Artifact:
    return artifact(commit, url=URL)._replace(instances=instances, started_at=1_790_000_000.0)


def real_history(commits: list[CommitSha]) -> list[Snapshot]:
    """aws-beta as real reporters leave it.

    #1 an empty first report; #2 a build and a tag-pinned image without a digest; #3 the same, only
    less compliant (no events); #4 a new build on 3 instances; #5 scaled to 2 ("2 instances changed");
    #6 the tagged image exits; #7 the same again (no events).
    """
    states = [
        [],
        [web(commits[1]), TAGGED],
        [web(commits[1]), TAGGED],
        [web(commits[3], 3), TAGGED],
        [web(commits[3], 2), TAGGED],
        [web(commits[3], 2)],
        [web(commits[3], 2)],
    ]
    snapshots = history("aws-beta", states)
    return [dataclasses.replace(s, compliant=s.index not in (3, 7)) for s in snapshots]


def online(client: KosliClient) -> Callable[[], KosliClient]:
    """The source's way to the client: this one."""
    return lambda: client


@pytest.fixture
def source(server: KosliServer, tmp_path: Path) -> Iterator[KosliSource]:
    """The Kosli source over the test server, with a cache of its own."""
    client = KosliClient(load_settings({}, server.env(), None))
    cache = KosliCache(tmp_path / "cache.sqlite")
    yield KosliSource(online(client), cache, org=server.org)
    client.close()
    cache.close()


@pytest.mark.parametrize(
    "args",
    [
        ["snapshot", "list", "aws-beta"],
        ["snapshot", "list", "aws-beta", "--json"],
        ["log", "aws-beta"],
        ["log", "aws-beta", "--json"],
        ["where", "HEAD~4"],
        ["where", "HEAD~2", "--json"],
        ["diff", "aws-beta~5", "aws-beta~1"],
    ],
    ids=" ".join,
)
def test_every_snapshot_appears_as_in_the_store_even_without_events_or_digests(
    args: list[str], repo: GitRepo, run_cli: RunCli, server: KosliServer
) -> None:
    snapshots = real_history(repo.linear(6))
    seed(repo.path, *snapshots)
    server.add(*snapshots)
    assert not any(e["snapshot_index"] in (1, 3, 7) for e in server.events["aws-beta"]), "no events"
    assert any(e["sha256"] is None for e in server.events["aws-beta"]), "an event without a digest"

    local = run_cli("--source", "local", *args, cwd=repo.path)
    remote = run_cli(*args, cwd=repo.path)
    warm = run_cli(*args, cwd=repo.path)

    assert local.exit_code in (0, 1), local.stderr
    assert (remote.exit_code, remote.stdout, remote.stderr) == (local.exit_code, local.stdout, local.stderr)
    assert (warm.exit_code, warm.stdout) == (local.exit_code, local.stdout)


def test_snapshot_expressions_resolve_offline_against_every_index(
    repo: GitRepo, run_cli: RunCli, server: KosliServer
) -> None:
    server.add(*real_history(repo.linear(6)))
    assert run_cli("log", "aws-beta", cwd=repo.path).exit_code == 0  # caches the list and the events

    latest = run_cli("--offline", "snapshot", "list", "aws-beta", "--json", cwd=repo.path)
    back = run_cli("--offline", "log", "aws-beta", "--interval", "~4..~4", "--json", cwd=repo.path)
    behind = run_cli("--offline", "snapshot", "show", "aws-beta~4", cwd=repo.path)
    during = run_cli("--offline", "snapshot", "show", "aws-beta@{2026-09-21T17:30:00}", cwd=repo.path)  # in #3

    assert [s["index"] for s in json.loads(latest.stdout)["snapshots"]] == [7, 6, 5, 4, 3, 2, 1]
    assert [e["snapshot"]["index"] for e in json.loads(back.stdout)["snapshots"]] == [3]
    for resolved in (behind, during):  # resolved to #3, which has no events; never fetched whole, so not cached
        assert resolved.stderr == (
            "fatal: aws-beta#3 is not in the cache of org 'acme'; run without --offline to fetch it\n"
        )


def test_an_artifact_without_a_digest_is_named_and_not_rogue(
    repo: GitRepo, run_cli: RunCli, server: KosliServer
) -> None:
    server.add(*real_history(repo.linear(6)))

    shown = run_cli("snapshot", "show", "aws-beta#2", "--json", cwd=repo.path)
    logged = run_cli("log", "aws-beta", "--interval", "2", cwd=repo.path)

    tagged = next(a for a in json.loads(shown.stdout)["artifacts"] if a["name"] == TAGGED.name)
    assert (tagged["fingerprint"], tagged["rogue"], tagged["instances"]) == ("", False, 2)
    started = next(line for line in logged.stdout.splitlines() if "nginx:1.27" in line)
    assert started.split() == ["started", "nginx:1.27"]


def test_counts_come_from_what_events_state_or_a_fetched_snapshot_never_invented(
    repo: GitRepo, server: KosliServer, source: KosliSource
) -> None:
    commits = repo.linear(6)
    server.add(*real_history(commits))

    replayed = source.history(BETA)
    counts = [{a.name: a.instances for a in s.artifacts} for s in replayed]
    build1, build3 = (f"registry.example/web:{commits[i][:7]}" for i in (1, 3))

    assert [s.index for s in replayed] == [1, 2, 3, 4, 5, 6, 7]
    assert counts == [
        {},
        {build1: 1, TAGGED.name: 2},  # "from 0 to 1", "from 0 to 2"
        {build1: 1, TAGGED.name: 2},  # no events: as before
        {TAGGED.name: 2, build3: 3},
        {TAGGED.name: 2, build3: None},  # "2 instances changed" does not say how many run
        {build3: None},
        {build3: None},
    ]
    assert all(a.started_at is None for s in replayed for a in s.artifacts), "no event gives a start time"

    exact = source.resolve(Numbered(BETA, 5))  # a fetched snapshot says, and what follows carries it on
    again = source.history(BETA)

    assert again[4] == exact
    assert {a.name: (a.instances, a.started_at) for a in again[6].artifacts} == {build3: (2, 1_790_000_000.0)}
    assert again[6].artifacts[0] is next(a for a in again[4].artifacts if a.name == build3), "untouched since #5"


def test_a_history_that_cannot_be_read_is_not_cached(repo: GitRepo, run_cli: RunCli, server: KosliServer) -> None:
    server.add(*real_history(repo.linear(6)))
    good = server.events["aws-beta"][2]
    server.events["aws-beta"][2] = {**good, "sha256": 42}

    broken = run_cli("log", "aws-beta", cwd=repo.path)
    cached = run_cli("--offline", "log", "aws-beta", cwd=repo.path)
    server.events["aws-beta"][2] = good
    fixed = run_cli("log", "aws-beta", cwd=repo.path)

    assert (broken.exit_code, broken.stderr) == (
        128,
        f"fatal: Kosli's event of snapshot #{good['snapshot_index']} has a 'sha256' that is not a string\n",
    )
    assert cached.stderr == (
        "fatal: environment 'aws-beta' is not in the cache of org 'acme'; run without --offline to fetch it\n"
    )
    assert fixed.exit_code == 0, fixed.stderr
    assert "aws-beta#7" in fixed.stdout


def test_logical_environments_have_no_history_of_their_own(repo: GitRepo, run_cli: RunCli, server: KosliServer) -> None:
    commits = repo.linear(6)
    server.add(*real_history(commits))
    server.add_logical("production", ["aws-beta"])

    where = run_cli("where", commits[2], "--json", cwd=repo.path)
    logged = run_cli("log", "production", cwd=repo.path)

    assert where.exit_code == 0, where.stderr
    assert [e["environment"] for e in json.loads(where.stdout)["environments"]] == ["aws-beta"]
    assert not [r.path for r in server.requests if "production" in r.path]
    assert (logged.exit_code, logged.stderr) == (
        128,
        "fatal: 'production' is a logical environment, with no snapshots of its own; name one it includes (aws-beta)\n",
    )


def test_archived_flows_and_unlisted_fingerprints_are_remembered(
    repo: GitRepo, run_cli: RunCli, server: KosliServer
) -> None:
    commits = repo.linear(4)
    git(repo.path, "config", "kosli.fetch.maxAge", "0")  # every read asks Kosli: how it asks is the subject
    scanned = artifact(commits[2], url=URL)._replace(
        provenance=(
            Provenance("web-ci", commits[2], URL),
            Provenance("snyk-vulns-archived-at-1786000000", CommitSha("e" * 40)),
            Provenance("promotion", CommitSha("f" * 40)),
        )
    )
    server.add(*history("aws-beta", [[artifact(commits[1], url=URL)], [scanned]]))
    server.archive("snyk-vulns-archived-at-1786000000")
    server.flow_artifacts["promotion"].clear()  # promotion lists other artifacts only

    first = run_cli("where", commits[1], cwd=repo.path)
    listings = sorted({r.query["flow_name"][0] for r in server.requests if r.path == "/api/v2/artifacts/acme"})
    server.requests.clear()
    server.add(*history("aws-beta", [[artifact(commits[3], url=URL)]], start=3))
    second = run_cli("where", commits[1], cwd=repo.path)

    assert first.exit_code == second.exit_code == 0, first.stderr + second.stderr
    assert listings == ["promotion", "snyk-vulns-archived-at-1786000000", "web-ci"]
    again = {r.query["flow_name"][0] for r in server.requests if r.path == "/api/v2/artifacts/acme"}
    assert again == {"web-ci"}, "only this repository's flow, for builds newer than the cached ones (#16)"


def test_pages_never_ask_for_more_than_a_hundred(repo: GitRepo, run_cli: RunCli, server: KosliServer) -> None:
    commits = repo.linear(3)
    server.add(*history("batch", [[artifact(commits[1 + i % 2], url=URL)] for i in range(130)]))

    listed = run_cli("snapshot", "list", "batch", "--json", cwd=repo.path)
    behind = run_cli("snapshot", "show", "batch~120", cwd=repo.path)

    assert [s["index"] for s in json.loads(listed.stdout)["snapshots"]] == list(range(130, 0, -1))
    assert behind.exit_code == 0, behind.stderr
    assert behind.stdout.startswith("batch#10 ")
    assert max(int(r.query["per_page"][0]) for r in server.requests if "per_page" in r.query) == 100


def test_flows_in_any_order_give_the_same_histories(repo: GitRepo, run_cli: RunCli, tmp_path: Path) -> None:
    commits = repo.linear(4)
    multi = [
        artifact(commits[i], url=URL)._replace(
            provenance=(Provenance("web-ci", commits[i], URL), Provenance("scan", CommitSha("e" * 40)))
        )
        for i in (1, 2, 3)
    ]
    snapshots = history("aws-beta", [[multi[0]], [multi[1]], [multi[1], multi[2]]])
    answers = []
    for vary in (False, True):
        with KosliServer(vary_flow_order=vary) as server:
            server.add(*snapshots)
            client = KosliClient(load_settings({}, server.env(), None))
            with KosliCache(tmp_path / f"cache-{vary}.sqlite") as cache:
                replayed = KosliSource(online(client), cache, org=server.org).history(BETA)
            client.close()
        answers.append([[(a.name, sorted(a.provenance)) for a in s.artifacts] for s in replayed])
    assert answers[0] == answers[1]


def test_redirects_stay_on_the_kosli_host(server: KosliServer) -> None:
    server.add(*history("aws-beta", [[], []]))
    client = KosliClient(load_settings({}, server.env(), None))
    with KosliServer() as elsewhere:
        server.fail("/aws-beta/%232", Fault("status", 307, headers={"Location": "/api/v2/snapshots/acme/aws-beta/2"}))
        followed = client.snapshot("aws-beta", "%232")
        away = f"http://localhost:{elsewhere.url.rsplit(':', 1)[1]}/api/v2/snapshots/acme/aws-beta/1"
        server.fail("/aws-beta/%231", Fault("status", 302, headers={"Location": away}))
        with pytest.raises(ApiError) as refused:
            client.snapshot("aws-beta", "%231")
    client.close()

    assert followed["index"] == 2
    assert [r.path for r in server.requests][-3:-1] == [
        "/api/v2/snapshots/acme/aws-beta/%232",
        "/api/v2/snapshots/acme/aws-beta/2",
    ]
    assert all(r.headers.get("authorization") == f"Bearer {server.token}" for r in server.requests)
    assert elsewhere.requests == []
    assert str(refused.value) == (
        f"Kosli redirected GET {server.url}/api/v2/snapshots/acme/aws-beta/%231 to {away}; "
        "not followed: the API token goes only to http://127.0.0.1"
    )


# Kosli's own recorded answers.


def recorded(name: str) -> object:
    return json.loads((FIXTURES / name).read_text())


def test_the_recorded_event_log_replays_to_the_recorded_snapshot() -> None:
    events = recorded("log_environment.json")
    assert isinstance(events, list)
    listed = [summary_from_json(item) for item in recorded("list_snapshots.json")]  # type: ignore[attr-defined]
    real = snapshot_from_json(recorded("get_snapshot.json"), EnvName("aws-prod"))

    replayed = replay_history(EnvName("aws-prod"), listed, events[::-1], {})

    assert [s.index for s in replayed] == list(range(5239, 5254))
    latest = replayed[-1]
    assert (latest.index, latest.timestamp, latest.compliant) == (real.index, real.timestamp, real.compliant)
    running = {a.fingerprint: a for a in latest.artifacts}
    assert running.keys() == {a.fingerprint for a in real.artifacts}
    for each in real.artifacts:
        assert running[each.fingerprint].instances in (None, each.instances), each.name  # right or unknown
        assert running[each.fingerprint].started_at in (None, each.started_at), each.name
    assert running[real.artifacts[0].fingerprint].instances is None  # runner: "3 instances changed"


def test_an_artifact_without_an_annotation_is_skipped_as_the_kosli_cli_does() -> None:
    document = recorded("get_snapshot.json")
    assert isinstance(document, dict)
    del document["artifacts"][1]["annotation"]
    document["artifacts"][2]["fingerprint"] = ""

    snapshot = snapshot_from_json(document, EnvName("aws-prod"))

    assert len(snapshot.artifacts) == 10
    assert document["artifacts"][1]["name"] not in {a.name for a in snapshot.artifacts}
    tagged = next(a for a in snapshot.artifacts if a.name == document["artifacts"][2]["name"])
    assert (tagged.fingerprint, tagged.rogue) == (NO_FINGERPRINT, False)
