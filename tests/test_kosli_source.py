"""Every command against a real Kosli API server on 127.0.0.1, as against the embedded store."""

from __future__ import annotations

import json
import sqlite3

import pytest

from git_kosli.model import Artifact, CommitSha, Provenance, Snapshot
from git_kosli.sources.kosli.cache import cache_path
from tests.conftest import RunCli
from tests.factory import artifact, fingerprint, history, seed
from tests.gitrepo import GitRepo, bisect_refs, git
from tests.kosli_server import Fault, KosliServer

URL = "https://github.com/acme/web"


def snapshot_gets(kosli: KosliServer) -> list[str]:
    """The paths of get-snapshot requests (`/snapshots/ORG/ENV/EXPR`), not of the snapshot lists."""
    return [r.path for r in kosli.requests if r.path.startswith("/api/v2/snapshots/") and r.path.count("/") == 6]


def scenario(commits: list[CommitSha]) -> list[Snapshot]:
    """Two environments: a rogue artifact, one that exits, one reported to two flows with different commits."""
    rogue = artifact(None, "db")
    shared = Artifact(
        name="registry.example/web:shared",
        fingerprint=fingerprint("shared"),
        provenance=(Provenance("web-ci", commits[3], URL), Provenance("other-ci", CommitSha("e" * 40), None)),
        compliant=True,
    )
    web = [artifact(commits[i], url=URL) for i in range(8)]
    return [
        *history("aws-beta", [[web[1], rogue], [shared, rogue], [web[5]]]),
        *history("staging", [[web[1]], [shared], [web[5]], [web[7]]]),
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["snapshot", "show", "aws-beta#2"],
        ["snapshot", "show", "aws-beta#2", "--json"],
        ["snapshot", "show", "aws-beta"],
        ["snapshot", "show", "staging~2"],
        ["snapshot", "list", "aws-beta"],
        ["snapshot", "list", "staging", "--json"],
        ["log", "staging"],
        ["diff", "aws-beta", "staging"],
        ["where", "HEAD~4"],
        ["where", "HEAD~4", "--json"],
        ["bisect", "aws-beta#1", "aws-beta#3", "--json"],
    ],
    ids=lambda args: " ".join(args),
)
def test_commands_answer_alike_from_kosli_and_from_the_embedded_store(
    args: list[str], repo: GitRepo, run_cli: RunCli, server: KosliServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshots = scenario(repo.linear(8))
    seed(repo.path, *snapshots)
    server.add(*snapshots)

    local = run_cli("--source", "local", *args, cwd=repo.path)
    if args[0] == "bisect":
        git(repo.path, "bisect", "reset")
    remote = run_cli(*args, cwd=repo.path)

    assert local.exit_code in (0, 1), local.stderr  # `diff` says 1 when the two differ
    assert remote.stdout.splitlines() == local.stdout.splitlines()
    assert (remote.exit_code, remote.stderr) == (local.exit_code, local.stderr)
    assert server.count("/api/v2/") > 0, "the second run read Kosli"


def test_cold_bisect_fetches_two_snapshots_and_a_warm_one_none(
    repo: GitRepo, run_cli: RunCli, server: KosliServer
) -> None:
    commits = repo.linear(8)
    server.add(*scenario(commits))

    cold = run_cli("bisect", "aws-beta#1", "aws-beta#3", cwd=repo.path)
    assert cold.exit_code == 0, cold.stderr
    cold_gets = snapshot_gets(server)
    git(repo.path, "bisect", "reset")
    server.requests.clear()
    warm = run_cli("bisect", "aws-beta#1", "aws-beta#3", cwd=repo.path)

    assert warm.exit_code == 0, warm.stderr
    assert sorted(cold_gets) == ["/api/v2/snapshots/acme/aws-beta/%231", "/api/v2/snapshots/acme/aws-beta/%233"]
    assert snapshot_gets(server) == []
    assert server.count("/events") == 0, "no snapshot is newer than the cache: no events are asked for"
    assert warm.stdout == cold.stdout


def test_environments_are_listed_while_the_cached_ones_are_brought_up_to_date(
    repo: GitRepo, run_cli: RunCli, server: KosliServer
) -> None:
    server.add(*scenario(repo.linear(8)))
    git(repo.path, "config", "kosli.fetch.maxAge", "0")  # every read asks Kosli: how it asks is the subject
    assert run_cli("where", "HEAD~4", cwd=repo.path).exit_code == 0  # the cache now knows both environments
    server.timeline.clear()
    server.fail("/environments/acme", Fault("slow", seconds=0.5))

    result = run_cli("where", "HEAD~4", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    listed = server.timeline.index(("answered", "/api/v2/environments/acme"))
    probes = [
        i
        for i, (what, path) in enumerate(server.timeline)
        if what == "asked" and path.count("/") == 5 and path.startswith("/api/v2/snapshots/acme/")
    ]
    assert len(probes) == 2 and max(probes) < listed, "one round trip: the probes did not wait for the listing"


def test_an_environment_the_org_no_longer_has_is_left_out(repo: GitRepo, run_cli: RunCli, server: KosliServer) -> None:
    server.add(*scenario(repo.linear(8)))
    git(repo.path, "config", "kosli.fetch.maxAge", "0")  # every read asks Kosli: how it asks is the subject
    assert "staging" in run_cli("where", "HEAD~4", cwd=repo.path).stdout
    del server.snapshots["staging"], server.events["staging"]

    result = run_cli("where", "HEAD~4", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    assert "aws-beta" in result.stdout and "staging" not in result.stdout


def test_new_snapshots_are_fetched_incrementally(repo: GitRepo, run_cli: RunCli, server: KosliServer) -> None:
    commits = repo.linear(8)
    git(repo.path, "config", "kosli.fetch.maxAge", "0")  # every read asks Kosli: how it asks is the subject
    snapshots = history("staging", [[artifact(commits[i], url=URL)] for i in (1, 3, 5, 7)])
    server.add(*snapshots[:2])
    assert run_cli("log", "staging", cwd=repo.path).exit_code == 0
    server.add(*snapshots[2:])
    server.requests.clear()

    result = run_cli("log", "staging", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    assert "staging#4" in result.stdout
    events = [r for r in server.requests if r.path.endswith("/events")]
    assert [r.query.get("start") for r in events] == [["3"]]


def test_events_over_several_pages(repo: GitRepo, run_cli: RunCli, server: KosliServer) -> None:
    commits = repo.linear(3)
    states = [[artifact(commits[i % 2 + 1], url=URL), artifact(None, f"job{i}")] for i in range(70)]
    server.add(*history("batch", states))

    result = run_cli("snapshot", "list", "batch", "--json", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    assert [s["index"] for s in json.loads(result.stdout)["snapshots"]] == list(range(70, 0, -1))
    pages = [r.query["page"] for r in server.requests if r.path.endswith("/events")]
    assert len(server.events["batch"]) > 200 and len(pages) >= 3


def test_offline_answers_from_the_cache_and_names_what_is_missing(
    repo: GitRepo, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    commits = repo.linear(8)
    with KosliServer() as kosli:
        kosli.add(*scenario(commits))
        for name, value in kosli.env().items():
            monkeypatch.setenv(name, value)
        online = run_cli("snapshot", "show", "aws-beta#2", cwd=repo.path)

    offline = run_cli("--offline", "snapshot", "show", "aws-beta#2", cwd=repo.path)
    missing = run_cli("--offline", "snapshot", "show", "aws-beta#3", cwd=repo.path)

    assert (offline.exit_code, offline.stdout) == (0, online.stdout)
    assert missing.exit_code == 128
    assert missing.stderr == (
        "fatal: aws-beta#3 is not in the cache of org 'acme'; run without --offline to fetch it\n"
    )


def test_snapshot_expressions_go_out_as_the_kosli_cli_sends_them(
    repo: GitRepo, run_cli: RunCli, server: KosliServer
) -> None:
    commits = repo.linear(8)
    server.add(*scenario(commits))

    for expr in ("aws-beta#2", "aws-beta@{2026-10-01T00:00:00}", "staging~1", "staging"):
        assert run_cli("snapshot", "show", expr, cwd=repo.path).exit_code == 0

    assert snapshot_gets(server) == [
        "/api/v2/snapshots/acme/aws-beta/%232",
        "/api/v2/snapshots/acme/aws-beta/@%7B2026-10-01T00:00:00%7D",
        "/api/v2/snapshots/acme/staging/%233",
        "/api/v2/snapshots/acme/staging/%234",
    ]


def test_kosli_errors_are_one_line_naming_the_input(repo: GitRepo, run_cli: RunCli, server: KosliServer) -> None:
    repo.linear(2)
    server.add(*history("aws-beta", [[]]))

    unknown = run_cli("snapshot", "show", "nowhere#1", cwd=repo.path)
    beyond = run_cli("snapshot", "show", "aws-beta#9", cwd=repo.path)

    assert unknown.exit_code == beyond.exit_code == 128
    assert unknown.stderr == "fatal: Environment named 'nowhere' does not exist for organization 'acme'\n"
    assert beyond.stderr.startswith("fatal: Org: 'acme'. Snapshot 'aws-beta#9' resolves to 'aws-beta#9'.")
    assert beyond.stderr.count("\n") == 1


def test_debug_shows_each_request_and_never_the_token(repo: GitRepo, run_cli: RunCli, server: KosliServer) -> None:
    commits = repo.linear(8)
    server.add(*scenario(commits))

    result = run_cli("--debug", "bisect", "aws-beta#1", "aws-beta#3", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    assert f"[debug] GET {server.url}/api/v2/snapshots/acme/aws-beta/%231 -> 200 in " in result.stderr
    assert all(line.startswith("[debug] GET ") for line in result.stderr.splitlines())
    token = server.token or ""
    assert token and token not in result.stdout + result.stderr
    stored = [p for p in (repo.path / ".git").rglob("*") if p.is_file() and token.encode() in p.read_bytes()]
    assert stored == []


def test_kosli_debug_variable_turns_debug_on(
    repo: GitRepo, run_cli: RunCli, server: KosliServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.linear(1)
    server.add(*history("aws-beta", [[]]))
    monkeypatch.setenv("KOSLI_DEBUG", "true")

    result = run_cli("snapshot", "show", "aws-beta#1", cwd=repo.path)

    assert result.stderr.startswith("[debug] GET ")


def test_plain_http_to_another_machine_is_refused_before_connecting(
    repo: GitRepo, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.linear(1)
    monkeypatch.setenv("KOSLI_ORG", "acme")
    monkeypatch.setenv("KOSLI_API_TOKEN", "very-secret-token")
    monkeypatch.setenv("KOSLI_HOST", "http://kosli.example.invalid")
    monkeypatch.setenv("KOSLI_HTTP_PROXY", "http://127.0.0.1:9")  # a connection attempt would fail differently

    result = run_cli("snapshot", "show", "aws-beta#1", cwd=repo.path)

    assert (result.exit_code, result.stderr) == (
        128,
        (
            "fatal: refusing to send the API token over plain http to http://kosli.example.invalid; "
            "use https:// (plain http is allowed only to this machine)\n"
        ),
    )


def test_a_failed_fetch_caches_nothing_and_starts_no_bisect(
    repo: GitRepo, run_cli: RunCli, server: KosliServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    commits = repo.linear(8)
    server.add(*scenario(commits))
    server.fail("/aws-beta/%233", *[Fault("status", 500)] * 2)
    monkeypatch.setenv("KOSLI_MAX_API_RETRIES", "1")  # one real wait of a second

    failed = run_cli("bisect", "aws-beta#1", "aws-beta#3", cwd=repo.path)
    offline = run_cli("--offline", "snapshot", "show", "aws-beta#1", cwd=repo.path)

    assert failed.exit_code == 128
    assert failed.stderr == (
        f"fatal: GET {server.url}/api/v2/snapshots/acme/aws-beta/%233: giving up after 2 attempts (HTTP 500)\n"
    )
    assert bisect_refs(repo.path) == {}
    assert offline.stderr == "fatal: aws-beta#1 is not in the cache of org 'acme'; run without --offline to fetch it\n"


def test_control_characters_from_the_server_are_not_printed(
    repo: GitRepo, run_cli: RunCli, server: KosliServer
) -> None:
    commits = repo.linear(2)
    name = "web\x1b]0;owned\x07:\x1b[31mred"
    hostile = Artifact(name, fingerprint("hostile"), (Provenance("web-ci", commits[1], URL),))
    server.add(*history("aws-beta", [[hostile]]))

    result = run_cli("snapshot", "show", "aws-beta#1", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "web]0;owned:[31mred" in result.stdout


def kept_replays(repo: GitRepo, server: KosliServer) -> dict[str, tuple[str, str]]:
    """The replayed histories the cache keeps: env -> (key, body)."""
    with sqlite3.connect(cache_path(repo.path / ".git", server.org, server.url)) as db:
        return {env: (key, body) for env, key, body in db.execute("SELECT env, key, body FROM replayed")}


def test_a_history_replayed_once_is_read_as_replayed_until_kosli_has_more(
    repo: GitRepo, run_cli: RunCli, server: KosliServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    commits = repo.linear(9)
    snapshots = scenario(commits)
    server.add(*snapshots)
    seed(repo.path, *snapshots)
    cold = run_cli("log", "staging", cwd=repo.path)
    kept = kept_replays(repo, server)
    warm = run_cli("log", "staging", cwd=repo.path)
    marked = json.loads(kept["staging"][1])
    marked["artifacts"][0][0] = "marked:" + marked["artifacts"][0][0]
    with sqlite3.connect(cache_path(repo.path / ".git", server.org, server.url)) as db:
        db.execute("UPDATE replayed SET body = ? WHERE env = 'staging'", (json.dumps(marked),))
    read_as_kept = run_cli("log", "staging", "--json", cwd=repo.path)

    assert cold.exit_code == 0, cold.stderr
    assert warm.stdout == cold.stdout == run_cli("--source", "local", "log", "staging", cwd=repo.path).stdout
    assert "marked:" in read_as_kept.stdout  # the kept history answered: nothing was replayed

    newer = history("staging", [[artifact(commits[8], url=URL)]], start=5)
    server.add(*newer)
    seed(repo.path, *newer)
    monkeypatch.setenv("KOSLI_FETCH_MAX_AGE", "0")
    fetched = run_cli("log", "staging", cwd=repo.path)

    assert "staging#5" in fetched.stdout and "marked:" not in fetched.stdout
    assert fetched.stdout == run_cli("--source", "local", "log", "staging", cwd=repo.path).stdout
    assert kept_replays(repo, server)["staging"][0] != kept["staging"][0]


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        '{"artifacts": [[1]], "snapshots": []}',
        '{"snapshots": [[1, 2, 3]]}',
        "[" * 100_000 + "]" * 100_000,
        '{"artifacts": [], "snapshots": [[null, 0, null, []]]}',
    ],
    ids=["not-json", "short-artifact", "no-artifacts", "too-deep", "no-number"],
)
def test_a_kept_replay_that_does_not_read_is_replayed_again(
    body: str, repo: GitRepo, run_cli: RunCli, server: KosliServer
) -> None:
    server.add(*scenario(repo.linear(8)))
    cold = run_cli("log", "staging", cwd=repo.path)
    with sqlite3.connect(cache_path(repo.path / ".git", server.org, server.url)) as db:
        db.execute("UPDATE replayed SET body = ?", (body,))

    again = run_cli("log", "staging", cwd=repo.path)

    assert (again.exit_code, again.stdout, again.stderr) == (cold.exit_code, cold.stdout, cold.stderr)
    assert kept_replays(repo, server)["staging"][1] != body  # written over with what was replayed


def test_a_history_replayed_offline_without_all_its_provenance_is_not_kept(
    repo: GitRepo, run_cli: RunCli, server: KosliServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshots = scenario(repo.linear(8))
    server.add(*snapshots)
    seed(repo.path, *snapshots)
    git(repo.path, "config", "kosli.flow", "web-ci")  # other-ci's commits are not looked up
    run_cli("log", "aws-beta", cwd=repo.path)
    git(repo.path, "config", "--unset", "kosli.flow")
    kept = kept_replays(repo, server)["aws-beta"]

    offline = run_cli("--offline", "log", "aws-beta", cwd=repo.path)
    after_offline = kept_replays(repo, server)["aws-beta"]
    online = run_cli("log", "aws-beta", "--json", cwd=repo.path)

    assert offline.exit_code == 0, offline.stderr
    assert after_offline == kept  # replayed without other-ci's commits: not kept, so the next read online asks
    assert any(r.query.get("flow_name") == ["other-ci"] for r in server.requests)
    assert kept_replays(repo, server)["aws-beta"][0] != kept[0]
    cache_path(repo.path / ".git", server.org, server.url).unlink()
    assert online.stdout == run_cli("log", "aws-beta", "--json", cwd=repo.path).stdout  # as from a cold cache
