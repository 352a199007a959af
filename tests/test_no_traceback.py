"""Bad input, broken servers, damaged files, a full disk, Ctrl-C: one clear line, never a traceback, nothing changed.

(Property-based: test_fuzz.py. Times that overflow: test_odd_repositories_and_wording.py.)
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

import pytest

from git_kosli.model import CommitSha
from tests.conftest import Result, RunCli, installed_env
from tests.factory import artifact, fingerprint, history, seed
from tests.gitrepo import GitRepo
from tests.kosli_server import Fault, KosliServer, snapshot_json

REPO_ROOT = Path(__file__).resolve().parents[1]


def one_clear_line(result: Result, code: int = 128) -> str:
    """The error a run printed (without its `hint:` lines), checked to be git's one line and no report of a bug."""
    assert result.exit_code == code, (result.stdout, result.stderr)
    said = [line for line in result.stderr.splitlines() if not line.startswith("hint: ")]
    assert len(said) == 1, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    return said[0] + "\n"


@pytest.fixture
def ran(repo: GitRepo) -> CommitSha:
    sha = repo.commit("a")
    seed(repo.path, *history("e", [[artifact(sha)]]))
    return sha


def store_bytes(repo: GitRepo) -> bytes:
    return (repo.path / ".git" / "kosli" / "local.sqlite").read_bytes()


def good_document(sha: str, index: int = 2) -> dict[str, Any]:
    document = snapshot_json(history("e", [[artifact(sha)]], start=index)[0], None)
    return document


def _set(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """The document with one field replaced: `timestamp`, `artifacts.0.fingerprint`, ..."""
    *parents, last = path.split(".")
    place: Any = document
    for part in parents:
        place = place[int(part)] if isinstance(place, list) else place[part]
    if isinstance(place, list):
        place[int(last)] = value
    else:
        place[last] = value
    return document


RAW = {
    "not UTF-8": b'{"index": 2, "timestamp": 1, "artifacts": [], "name": "\xff\xfe"}',
    "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "NaN": b'{"index": 2, "timestamp": NaN, "artifacts": []}',
    "Infinity": b'{"index": 2, "timestamp": Infinity, "artifacts": []}',
    "a number past a double": b'{"index": 2, "timestamp": 1e999, "artifacts": []}',
    "5,000 digits": b'{"index": ' + b"9" * 5000 + b', "timestamp": 1, "artifacts": []}',
    "empty": b"",
}
FIELDS = {
    "index as text": ("index", "2"),
    "index true": ("index", True),
    "index past 2^53": ("index", 10**30),
    "timestamp as text": ("timestamp", "yesterday"),
    "timestamp after 9999": ("timestamp", 1e20),
    "timestamp before 1970": ("timestamp", -5.0),
    "artifacts an object": ("artifacts", {"a": 1}),
    "an artifact a number": ("artifacts.0", 5),
    "fingerprint a number": ("artifacts.0.fingerprint", 5),
    "fingerprint not hex": ("artifacts.0.fingerprint", "z" * 64),
}


@pytest.mark.parametrize("case", [*RAW, *FIELDS])
def test_a_bad_document_is_refused_on_import_naming_the_file_and_nothing_is_stored(
    case: str, ran: CommitSha, repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    data = RAW[case] if case in RAW else json.dumps(_set(good_document(ran), *FIELDS[case])).encode()
    (tmp_path / "bad.json").write_bytes(data)
    before = store_bytes(repo)

    result = run_cli("snapshot", "import", "e", str(tmp_path / "bad.json"), cwd=repo.path)

    assert one_clear_line(result).startswith(f"fatal: {tmp_path / 'bad.json'}: ")
    assert store_bytes(repo) == before


def test_a_store_with_gaps_answers_for_what_it_holds(repo: GitRepo, run_cli: RunCli, tmp_path: Path) -> None:
    sha = repo.commit("a")
    (tmp_path / "3.json").write_text(json.dumps(good_document(sha, index=3)))
    assert run_cli("snapshot", "import", "e", str(tmp_path / "3.json"), cwd=repo.path).exit_code == 0

    for expression in ("e#1", "e~1", "e#-2"):
        result = run_cli("snapshot", "show", expression, cwd=repo.path)
        assert one_clear_line(result) == f"fatal: snapshot {expression} does not exist: 'e' has 1 snapshot (#3)\n"
    assert run_cli("snapshot", "show", "e", cwd=repo.path).exit_code == 0
    assert run_cli("log", "e", cwd=repo.path).exit_code == 0


@pytest.mark.parametrize(
    ("interval", "code", "said"),
    [
        ("9", 128, "fatal: --interval '9' is #9..#9, but 'e' has snapshots #1..#1\n"),
        ("~3", 128, "fatal: --interval '~3' is #-2..#-2, but 'e' has snapshots #1..#1\n"),
        ("3..1", 129, "error: invalid --interval '3..1': it starts at #3, after its end #1\n"),
        ("1" * 40, 129, f"error: invalid --interval '{'1' * 40}': expected A..B with numbers, ~N or NOW\n"),
    ],
)
def test_log_intervals_past_the_history_or_backwards(
    interval: str, code: int, said: str, ran: CommitSha, repo: GitRepo, run_cli: RunCli
) -> None:
    assert one_clear_line(run_cli("log", "e", "--interval", interval, cwd=repo.path), code) == said


@pytest.mark.parametrize(
    ("path", "body", "said"),
    [
        ("/snapshots/acme/aws-beta", [{"from": 1.0}], "Kosli listed a snapshot without a valid 'index'"),
        ("/snapshots/acme/aws-beta", [{"index": "2", "from": 1.0}], "without a valid 'index' (a number from 1): \"2\""),
        ("/snapshots/acme/aws-beta", [{"index": 2, "from": "yesterday"}], "with 'from' \"yesterday\", which is not"),
        ("/snapshots/acme/aws-beta", {"index": 2}, "with dict, expected a list"),
        ("/snapshots/acme/aws-beta/", {"index": 1, "timestamp": "x"}, "has no 'timestamp' that is a time"),
    ],
)
def test_malformed_server_answers_are_one_line_and_nothing_is_cached(
    path: str, body: Any, said: str, server: KosliServer, repo: GitRepo, run_cli: RunCli
) -> None:
    repo.commit("a")
    server.add(*history("aws-beta", [[artifact("a" * 40)], [artifact("b" * 40)]]))
    server.fail(path, Fault("json", body=body))

    result = run_cli("snapshot", "show", "aws-beta~1", cwd=repo.path)

    assert said in one_clear_line(result)
    assert run_cli("--offline", "snapshot", "show", "aws-beta#1", cwd=repo.path).exit_code == 128


@pytest.mark.parametrize(
    "event",
    [5, {"snapshot_index": "1"}, {"snapshot_index": 1, "sha256": "x"}, {"snapshot_index": 1, "reported_at": "now"}],
)
def test_a_malformed_event_is_refused_before_it_is_cached(
    event: Any, server: KosliServer, repo: GitRepo, run_cli: RunCli
) -> None:
    repo.commit("a")
    server.add(*history("aws-beta", [[artifact("a" * 40)]]))
    server.fail("/events", Fault("json", body=[*server.events["aws-beta"], event]))

    one_clear_line(run_cli("log", "aws-beta", cwd=repo.path))
    assert run_cli("log", "aws-beta", cwd=repo.path).exit_code == 0  # nothing bad was kept: asked again, answered


def test_a_store_in_use_by_another_writer_says_so(ran: CommitSha, repo: GitRepo, run_cli: RunCli) -> None:
    holder = sqlite3.connect(repo.path / ".git" / "kosli" / "local.sqlite")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = run_cli("snapshot", "record", "e", "--artifact", f"web={fingerprint('b')}@{ran}", cwd=repo.path)
    finally:
        holder.rollback()
        holder.close()

    assert one_clear_line(result) == (
        f"fatal: {repo.path / '.git' / 'kosli' / 'local.sqlite'} is in use by another git kosli "
        f"(an import, a record, a fetch); try again when it ends\n"
    )


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_store_is_named_with_how_to_recover(
    damage: str, ran: CommitSha, repo: GitRepo, run_cli: RunCli
) -> None:
    path = repo.path / ".git" / "kosli" / "local.sqlite"
    data = path.read_bytes()
    path.write_bytes(b"this is not a database" * 100 if damage == "garbage" else data[: len(data) // 2])

    result = run_cli("snapshot", "list", "e", cwd=repo.path)

    assert one_clear_line(result).startswith(f"fatal: {path} cannot be read as the embedded snapshot store (")
    assert result.stderr.endswith(f"hint: move it aside, then import the snapshots again: mv {path} {path}.broken\n")


def test_an_empty_store_reads_as_empty(repo: GitRepo, run_cli: RunCli) -> None:
    repo.commit("a")
    (repo.path / ".git" / "kosli").mkdir()
    (repo.path / ".git" / "kosli" / "local.sqlite").write_bytes(b"")

    said = one_clear_line(run_cli("snapshot", "list", "e", cwd=repo.path))

    assert said == "fatal: environment 'e' does not exist: no snapshots yet\n"


def test_a_damaged_cache_says_it_can_be_deleted(server: KosliServer, repo: GitRepo, run_cli: RunCli) -> None:
    repo.commit("a")
    server.add(*history("aws-beta", [[artifact("a" * 40)]]))
    assert run_cli("snapshot", "show", "aws-beta#1", cwd=repo.path).exit_code == 0
    (cache,) = (repo.path / ".git" / "kosli").glob("cache-*.sqlite")
    cache.write_bytes(cache.read_bytes()[:1000])

    result = run_cli("snapshot", "show", "aws-beta#1", cwd=repo.path)

    assert one_clear_line(result).startswith(f"fatal: {cache} cannot be read as a cache of what was fetched from Kosli")
    assert result.stderr.endswith(f"hint: it can be deleted safely; what it held is fetched again: rm {cache}\n")
    cache.unlink()
    assert run_cli("snapshot", "show", "aws-beta#1", cwd=repo.path).exit_code == 0


def test_a_folder_git_kosli_cannot_write_is_one_line(repo: GitRepo, run_cli: RunCli) -> None:
    sha = repo.commit("a")
    (repo.path / ".git" / "kosli").write_text("a file where git kosli keeps a folder")

    result = run_cli("snapshot", "record", "e", "--artifact", f"web={fingerprint('a')}@{sha}", cwd=repo.path)

    assert one_clear_line(result) == f"fatal: {repo.path / '.git' / 'kosli'}: File exists\n"


def _limit_file_size() -> None:
    """In the child: files of at most 64 KiB, and a write past that fails (EFBIG) instead of killing it."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_a_full_disk_is_one_line_and_the_store_stays_whole(ran: CommitSha, repo: GitRepo, tmp_path: Path) -> None:
    big = [artifact(ran, f"service{i}") for i in range(2000)]
    document = snapshot_json(history("e", [big], start=2)[0], None)
    (tmp_path / "big.json").write_text(json.dumps(document))
    before = store_bytes(repo)

    result = subprocess.run(
        ["git", "kosli", "snapshot", "import", "e", str(tmp_path / "big.json")],
        cwd=repo.path,
        capture_output=True,
        text=True,
        env=installed_env(),
        preexec_fn=_limit_file_size,
        check=False,
    )

    assert result.returncode == 128, result.stderr
    assert result.stderr.startswith("fatal: ") and len(result.stderr.splitlines()) == 1
    assert "(is the disk full?); nothing was stored" in result.stderr or "too large" in result.stderr
    assert store_bytes(repo) == before


def test_ctrl_c_while_starting_is_exit_130_without_a_traceback(ran: CommitSha, repo: GitRepo, tmp_path: Path) -> None:
    """As a console script starts `git-kosli`, Ctrl-C from when Python has started to 150 ms later."""
    script = tmp_path / "git-kosli"
    script.write_text("import sys\nfrom git_kosli.cli import main\nsys.exit(main())\n")  # what pip installs, less `re`
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), sysconfig.get_path("purelib")])}
    starts = []
    for _ in range(3):
        started = time.monotonic()
        subprocess.run([sys.executable, "-S", "-c", "pass"], check=True)
        starts.append(time.monotonic() - started)
    python_alone = max(starts)  # Python's own start, before any code of git kosli's runs
    outcomes = []
    for delay in [2 * python_alone + step / 1000 for step in range(0, 151, 10)]:  # twice: a loaded machine
        child = subprocess.Popen(
            [sys.executable, "-S", str(script), "log", "e"],
            cwd=repo.path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(delay)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate()
        outcomes.append(child.returncode)
        # On a loaded machine Python may still be starting: a Ctrl-C then is Python's own (killed by the signal,
        # or a traceback of the import machinery before git kosli's first line); never one from git kosli's code.
        assert "git_kosli/" not in stderr and "internal error" not in stderr, (delay, stderr)
        assert child.returncode in (0, 130, -signal.SIGINT), (delay, child.returncode, stderr)
    assert outcomes.count(130) >= len(outcomes) // 2
