"""Fetching apart from reading: reads within kosli.fetch.maxAge ask Kosli nothing; `fetch --background`; the hook."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from git_kosli.model import Artifact, CommitSha, EnvName
from git_kosli.sources.kosli.api import KosliClient
from git_kosli.sources.kosli.cache import KosliCache
from git_kosli.sources.kosli.source import KosliSource
from git_kosli.sources.settings import load_settings
from tests.conftest import RunCli, git_kosli, installed_env
from tests.factory import T0, artifact, history
from tests.gitrepo import GitRepo, git
from tests.kosli_server import Fault, KosliServer

URL = "https://github.com/acme/web"
HOUR = 3600.0
# `git kosli ARGS` in a process of its own, which then says whether httpx was imported
LOADED = (
    "import sys\n"
    "from git_kosli.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "network = ('httpx', 'concurrent.futures', 'email.utils')  # what only a request needs\n"
    "print('loaded:', *[name for name in network if name in sys.modules], file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def web(commit: str) -> Artifact:
    return artifact(commit, "web", url=f"{URL}/commit/{commit}")


@pytest.fixture
def commits(repo: GitRepo, server: KosliServer) -> list[CommitSha]:
    """main has 6 commits; beta ran c1 then c3, prod c1 then c2; both published to the test server."""
    git(repo.path, "remote", "add", "origin", f"{URL}.git")
    c = repo.linear(6)
    server.add(*history("beta", [[web(c[1])], [web(c[3])]]), *history("prod", [[web(c[1])], [web(c[2])]]))
    return c


def in_process_of_its_own(repo: GitRepo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", LOADED, *args],
        cwd=repo.path,
        capture_output=True,
        text=True,
        env=installed_env(),
        check=False,
    )


def age_the_cache(repo: GitRepo, seconds: float) -> None:
    """Move every recorded fetch `seconds` into the past, as if it had happened then."""
    (path,) = (repo.path / ".git" / "kosli").glob("cache-*.sqlite")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE fetched SET at = at - ?", (seconds,))
    db.close()


def wait_for_no_lock(repo: GitRepo) -> None:
    """Poll until the background fetch has ended (its lock gone); generous, as the machine may be busy."""
    lock = repo.path / ".git" / "kosli" / "fetch.lock"
    deadline = time.monotonic() + 120
    while lock.exists():
        assert time.monotonic() < deadline, f"the background fetch still runs: {lock.read_text()!r}"
        time.sleep(0.05)


def test_a_warm_read_sends_no_request_and_loads_nothing_a_request_needs(
    repo: GitRepo, commits: list[CommitSha], server: KosliServer, run_cli: RunCli
) -> None:
    cold = run_cli("where", commits[1], cwd=repo.path)
    assert cold.exit_code == 0 and server.count() > 0, cold.stderr
    server.requests.clear()

    warm = in_process_of_its_own(repo, "where", commits[1])

    assert warm.returncode == 0, warm.stderr
    assert (warm.stdout, warm.stderr) == (cold.stdout, "loaded:\n")
    assert server.count() == 0

    age_the_cache(repo, 2 * 60)
    stale = in_process_of_its_own(repo, "where", commits[1])

    assert stale.stdout == cold.stdout and stale.stderr.startswith("loaded: httpx")
    assert server.count() > 0


@pytest.mark.parametrize(
    "args",
    [
        ["where", "HEAD~4"],
        ["where", "HEAD~4", "--env", "beta"],
        ["status"],
        ["status", "--env", "prod"],
        ["env"],
        ["log", "beta"],
        ["diff", "prod", "beta"],
        ["diff", "beta~1", "beta#-1"],
        ["snapshot", "show", "beta"],
        ["snapshot", "show", "beta@{1.hours.ago}"],
        ["snapshot", "list", "prod"],
        ["timeline"],
        ["notes"],
    ],
)
def test_every_reading_command_asks_nothing_while_what_it_read_is_recent(
    args: list[str], repo: GitRepo, commits: list[CommitSha], server: KosliServer, run_cli: RunCli
) -> None:
    assert run_cli("fetch", cwd=repo.path).exit_code == 0
    first = run_cli(*args, cwd=repo.path)  # a numbered snapshot read whole is fetched once
    server.requests.clear()

    again = run_cli(*args, cwd=repo.path)

    assert (again.exit_code, again.stderr) == (first.exit_code, first.stderr)
    assert first.exit_code in (0, 1), first.stderr  # diff: 1 when the snapshots differ
    assert server.requests == []


def test_bisect_asks_nothing_while_what_it_read_is_recent(
    repo: GitRepo, commits: list[CommitSha], server: KosliServer, run_cli: RunCli
) -> None:
    assert run_cli("bisect", "prod#1", "beta", cwd=repo.path).exit_code == 0
    assert run_cli("bisect", "reset", cwd=repo.path).exit_code == 0
    server.requests.clear()

    again = run_cli("bisect", "prod#1", "beta", cwd=repo.path)

    assert again.exit_code == 0, again.stderr
    assert server.requests == []


def test_fetch_makes_where_and_status_warm(
    repo: GitRepo, commits: list[CommitSha], server: KosliServer, run_cli: RunCli
) -> None:
    assert run_cli("fetch", cwd=repo.path).exit_code == 0
    server.requests.clear()

    assert run_cli("where", commits[1], cwd=repo.path).exit_code == 0
    assert run_cli("status", cwd=repo.path).exit_code == 0
    assert run_cli("log", "prod", cwd=repo.path).exit_code == 0

    assert server.requests == []


def test_old_data_is_fetched_first_and_max_age_0_always_asks(
    repo: GitRepo, commits: list[CommitSha], server: KosliServer, run_cli: RunCli
) -> None:
    c = commits
    assert run_cli("fetch", cwd=repo.path).exit_code == 0
    server.add(*history("prod", [[web(c[4])]], start=3))

    recent = run_cli("status", "--env", "prod", cwd=repo.path)
    age_the_cache(repo, 61)
    old = run_cli("status", "--env", "prod", cwd=repo.path)

    assert " #2 " in recent.stdout and " #3 " not in recent.stdout
    assert " #3 " in old.stdout and old.stderr == ""
    server.add(*history("prod", [[web(c[5])]], start=4))
    git(repo.path, "config", "kosli.fetch.maxAge", "0")
    server.requests.clear()

    always = run_cli("status", "--env", "prod", cwd=repo.path)

    assert " #4 " in always.stdout and always.stderr == ""
    assert server.count("/snapshots/acme/prod") == 1


def test_max_age_from_the_environment_wins_and_a_bad_one_is_named(
    repo: GitRepo, commits: list[CommitSha], server: KosliServer, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli("fetch", cwd=repo.path).exit_code == 0
    git(repo.path, "config", "kosli.fetch.maxAge", "0")
    monkeypatch.setenv("KOSLI_FETCH_MAX_AGE", "3600")
    server.requests.clear()

    assert run_cli("status", cwd=repo.path).exit_code == 0
    assert server.requests == []

    monkeypatch.setenv("KOSLI_FETCH_MAX_AGE", "soon")
    bad = run_cli("status", cwd=repo.path)
    assert (bad.exit_code, bad.stdout) == (128, "")
    assert bad.stderr == "fatal: fetch-max-age (from KOSLI_FETCH_MAX_AGE) 'soon' is not a number of seconds\n"


def test_offline_with_old_data_says_how_old_in_one_line(
    repo: GitRepo, commits: list[CommitSha], server: KosliServer, run_cli: RunCli
) -> None:
    assert run_cli("fetch", cwd=repo.path).exit_code == 0
    recent = run_cli("--offline", "where", commits[1], cwd=repo.path)
    age_the_cache(repo, 3 * HOUR + 5)

    old = run_cli("--offline", "where", commits[1], cwd=repo.path)
    one = run_cli("--offline", "log", "beta", "--json", cwd=repo.path)

    assert recent.exit_code == 0 and recent.stderr == ""
    assert old.stdout == recent.stdout
    assert old.stderr == "warning: Kosli data for beta, prod was fetched 3 hours ago\n"
    assert one.exit_code == 0 and one.stderr == "warning: Kosli data for beta was fetched 3 hours ago\n"


def test_a_cached_numbered_snapshot_never_needs_the_network(
    repo: GitRepo, commits: list[CommitSha], server: KosliServer, run_cli: RunCli
) -> None:
    git(repo.path, "config", "kosli.fetch.maxAge", "0")
    first = run_cli("snapshot", "show", "beta#1", cwd=repo.path)
    server.requests.clear()

    again = run_cli("snapshot", "show", "beta#1", cwd=repo.path)

    assert (again.exit_code, again.stdout) == (0, first.stdout)
    assert server.requests == []


def test_fetch_in_the_background_returns_and_a_later_read_finds_the_data(
    repo: GitRepo, commits: list[CommitSha], server: KosliServer, run_cli: RunCli
) -> None:
    kosli = repo.path / ".git" / "kosli"
    server.fail("/environments/acme", Fault("held", seconds=120))  # the fetch waits for the test

    read, write = os.pipe()  # a descriptor the caller holds (as a hook manager may): never passed on
    started = subprocess.run(
        [sys.executable, "-m", "git_kosli", "fetch", "--background"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        env=installed_env(),
        pass_fds=(write,),
        check=False,
    )
    os.close(write)
    holder = (kosli / "fetch.lock").read_text()
    again = git_kosli("fetch", "--background", cwd=repo.path)
    still = (kosli / "fetch.lock").read_text()
    os.set_blocking(read, False)
    assert os.read(read, 1) == b""  # at its end: the fetch, still waiting, holds no copy of it (else BlockingIOError)
    os.close(read)
    server.gate.set()
    wait_for_no_lock(repo)

    assert (started.returncode, started.stdout, started.stderr) == (0, "", "Fetching in the background\n")
    assert (again.returncode, again.stderr) == (0, "A fetch is running in the background\n")
    assert holder.isdigit() and still == holder
    assert sum(r.path == "/api/v2/environments/acme" for r in server.requests) == 1  # one fetch, not two
    assert "-> kosli/beta" in (kosli / "fetch.log").read_text()
    server.requests.clear()
    assert run_cli("where", commits[1], cwd=repo.path).exit_code == 0
    assert server.requests == []


def test_a_stale_lock_is_taken_over_and_the_log_is_never_written_through_a_link(
    repo: GitRepo, commits: list[CommitSha], server: KosliServer, tmp_path: Path
) -> None:
    kosli = repo.path / ".git" / "kosli"
    kosli.mkdir(parents=True)
    ended = subprocess.Popen(["true"])  # a process that has ended: its id names no one
    ended.wait()
    (kosli / "fetch.lock").write_text(str(ended.pid))
    elsewhere = tmp_path / "not-ours.txt"
    elsewhere.write_text("keep me\n")
    (kosli / "fetch.log").symlink_to(elsewhere)

    started = git_kosli("fetch", "--background", "-q", cwd=repo.path)
    wait_for_no_lock(repo)

    assert (started.returncode, started.stderr) == (0, "")
    assert elsewhere.read_text() == "keep me\n"
    assert not (kosli / "fetch.log").is_symlink() and "-> kosli/prod" in (kosli / "fetch.log").read_text()
    alive = kosli / "fetch.lock"
    alive.write_text(str(os.getpid()))
    assert git_kosli("fetch", "--background", cwd=repo.path).stderr == "A fetch is running in the background\n"
    old = time.time() - 11 * 60
    os.utime(alive, (old, old))
    assert git_kosli("fetch", "--background", cwd=repo.path).stderr == "Fetching in the background\n"
    wait_for_no_lock(repo)


def test_pre_push_answers_from_old_data_at_once_and_refreshes_it_in_the_background(
    repo: GitRepo, commits: list[CommitSha], server: KosliServer, run_cli: RunCli, tmp_path: Path
) -> None:
    c = commits
    head = git(repo.path, "rev-parse", "HEAD").strip()
    line = f"refs/heads/main {head} refs/heads/main {'0' * 40}\n"
    assert run_cli("fetch", cwd=repo.path).exit_code == 0
    server.add(*history("prod", [[web(c[4])]], start=3))
    age_the_cache(repo, 3 * HOUR + 5)
    server.requests.clear()
    server.fail("/", Fault("held", seconds=120))  # the background fetch waits: the hook does not

    old = run_cli("pre-push", "origin", "url", cwd=repo.path, stdin=line)
    server.gate.set()
    wait_for_no_lock(repo)
    recent = run_cli("pre-push", "origin", "url", cwd=repo.path, stdin=line)

    assert old.exit_code == 0
    assert old.stderr.splitlines() == [
        f"kosli: beta#2 runs {c[3][:7]}: main is 2 ahead, 0 behind",
        f"kosli: prod#2 runs {c[2][:7]}: main is 3 ahead, 0 behind",
        "kosli: Kosli data for beta, prod was fetched 3 hours ago; fetching in the background",
    ]
    assert server.count() > 0
    assert recent.stderr.splitlines() == [
        f"kosli: beta#2 runs {c[3][:7]}: main is 2 ahead, 0 behind",
        f"kosli: prod#3 runs {c[4][:7]}: main is 1 ahead, 0 behind",
    ]


def test_pre_push_with_nothing_cached_fetches_as_before(
    repo: GitRepo, commits: list[CommitSha], server: KosliServer, run_cli: RunCli
) -> None:
    head = git(repo.path, "rev-parse", "HEAD").strip()

    line = f"refs/heads/main {head} refs/heads/main {'0' * 40}\n"

    result = run_cli("pre-push", "origin", "url", cwd=repo.path, stdin=line)

    assert result.exit_code == 0
    assert "kosli: prod#2 runs" in result.stderr and "fetched" not in result.stderr
    assert server.count() > 0
    assert not (repo.path / ".git" / "kosli" / "fetch.lock").exists()


def test_completion_says_nothing_of_how_old_the_cache_is(
    repo: GitRepo, commits: list[CommitSha], server: KosliServer, run_cli: RunCli
) -> None:
    assert run_cli("fetch", cwd=repo.path).exit_code == 0
    age_the_cache(repo, 3 * HOUR)

    result = run_cli("__complete", "--", "snapshot", "show", "beta#", cwd=repo.path)

    assert (result.exit_code, result.stdout.split(), result.stderr) == (0, ["beta#2", "beta#1"], "")


def test_the_client_is_made_only_for_a_request_and_a_fetch_dated_ahead_of_the_clock_is_old(
    server: KosliServer, tmp_path: Path
) -> None:
    server.add(*history("beta", [[artifact("1" * 40)]]))
    made: list[KosliClient] = []

    def connect() -> KosliClient:
        made.append(KosliClient(load_settings({}, server.env(), None)))
        return made[-1]

    clock = [datetime(2026, 10, 2, 12, 0, tzinfo=UTC)]
    with KosliCache(tmp_path / "cache.sqlite") as cache:
        source = KosliSource(connect, cache, org=server.org, max_age=60, now=lambda: clock[0])
        source.history(EnvName("beta"))
        asked = server.count()
        clock[0] += timedelta(seconds=59)
        source = KosliSource(connect, cache, org=server.org, max_age=60, now=lambda: clock[0])
        source.history(EnvName("beta"))
        recent = (server.count(), len(made))
        clock[0] -= timedelta(hours=1)  # the clock went back: the fetch is dated in the future
        source.history(EnvName("beta"))
    for client in made:
        client.close()

    assert recent == (asked, 1)  # the second source made no client
    assert server.count() > asked and len(made) == 2
    assert source.old == {}


def test_a_listed_snapshot_without_a_start_time_is_dated_by_its_events_when_resolving(
    repo: GitRepo, commits: list[CommitSha], server: KosliServer, run_cli: RunCli
) -> None:
    server.add(*history("beta", [[web(commits[4])]], start=3))
    assert run_cli("fetch", cwd=repo.path).exit_code == 0
    (path,) = (repo.path / ".git" / "kosli").glob("cache-*.sqlite")
    with sqlite3.connect(path) as db:  # as Kosli lists a snapshot whose 'from' is missing
        db.execute("UPDATE snapshot_list SET timestamp = 0 WHERE env = 'beta' AND idx = 2")
    db.close()
    between = datetime.fromtimestamp(T0 + 1.5 * HOUR, UTC).strftime("%Y-%m-%dT%H:%M:%S")

    result = run_cli("snapshot", "show", f"beta@{{{between}}}", cwd=repo.path)  # resolved by the cache: recent

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("beta#1 ")


def test_a_background_fetch_gets_the_options_through_its_environment_not_its_command_line(
    repo: GitRepo, commits: list[CommitSha], server: KosliServer
) -> None:
    host = server.env()["KOSLI_HOST"]
    server.fail("/environments/acme", Fault("held", seconds=120))  # the fetch waits while its command line is read
    elsewhere = {"KOSLI_HOST": "http://127.0.0.1:9", "KOSLI_ORG": "nobody"}  # only the options lead to the server

    started = git_kosli(f"--host={host}", "--org=acme", "fetch", "--background", cwd=repo.path, env=elsewhere)
    child = (repo.path / ".git" / "kosli" / "fetch.lock").read_text()
    command_line = Path(f"/proc/{child}/cmdline").read_bytes().decode().split("\0")
    server.gate.set()
    wait_for_no_lock(repo)

    assert started.stderr == "Fetching in the background\n"
    assert "fetch" in command_line and not any(host in word or "acme" in word for word in command_line)
    assert "-> kosli/beta" in (repo.path / ".git" / "kosli" / "fetch.log").read_text()
