"""Messages in git's voice: what is wrong, then `hint:` lines saying what to do next."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from git_kosli.sources.kosli.cache import cache_path
from git_kosli.sources.store import store_path
from tests.conftest import RunCli
from tests.factory import artifact, history, seed
from tests.gitrepo import GitRepo
from tests.kosli_server import KosliServer

GET_SNAPSHOTS = (
    "hint: read them from Kosli: git config kosli.org ORG (or export KOSLI_ORG=ORG)\n"
    "hint: or import them: git kosli snapshot import ENV FILE (what kosli get snapshot ENV#N --output json prints)\n"
)


def test_status_without_an_org_or_snapshots_says_how_to_get_them(repo: GitRepo, run_cli: RunCli) -> None:
    repo.linear(1)

    result = run_cli("status", cwd=repo.path)

    assert result.exit_code == 0
    assert result.stdout == "no environments: no Kosli org is set and the embedded store has no snapshots\n"
    assert result.stderr == GET_SNAPSHOTS


@pytest.mark.parametrize("args", [["where", "HEAD"], ["log", "aws-beta"], ["snapshot", "show", "aws-beta"]])
def test_other_commands_without_snapshots_say_how_to_get_them(args: list[str], repo: GitRepo, run_cli: RunCli) -> None:
    repo.linear(1)

    result = run_cli(*args, cwd=repo.path)

    assert result.exit_code == 128
    assert result.stderr.startswith("fatal: ")
    assert result.stderr.endswith("no snapshots yet\n" + GET_SNAPSHOTS)


def test_without_an_org_the_kosli_source_says_how_to_set_one(repo: GitRepo, run_cli: RunCli) -> None:
    repo.linear(1)

    result = run_cli("--source", "kosli", "status", cwd=repo.path)

    assert result.exit_code == 128
    assert result.stderr == (
        "fatal: the Kosli source needs an org, and none is set\n"
        "hint: set one: git config kosli.org ORG (or export KOSLI_ORG=ORG)\n"
        "hint: or read the embedded store: --source local\n"
    )


def test_a_corrupt_store_is_named_with_how_to_recover(repo: GitRepo, run_cli: RunCli) -> None:
    commit = repo.linear(1)[0]
    path = seed(repo.path, *history("aws-beta", [[artifact(commit)]]))
    path.write_bytes(b"this is not a database, it only sits where one was" * 100)

    read = run_cli("snapshot", "list", "aws-beta", cwd=repo.path)
    write = run_cli("snapshot", "record", "aws-beta", "--artifact", f"web={'a' * 64}", cwd=repo.path)

    for result in (read, write):
        assert result.exit_code == 128
        assert result.stderr == (
            f"fatal: {path} cannot be read as the embedded snapshot store (file is not a database)\n"
            f"hint: move it aside, then import the snapshots again: mv {path} {path}.broken\n"
        )
    assert store_path(repo.path / ".git") == path


def test_a_store_of_another_kind_is_named_too(repo: GitRepo, run_cli: RunCli) -> None:
    repo.linear(1)
    path = store_path(repo.path / ".git")
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE mine (x)")
    other.close()

    result = run_cli("snapshot", "list", "aws-beta", cwd=repo.path)

    assert result.exit_code == 128
    assert result.stderr.startswith(
        f"fatal: {path} cannot be read as the embedded snapshot store (no such table: meta)"
    )


def test_a_corrupt_cache_says_it_can_be_deleted(repo: GitRepo, run_cli: RunCli, server: KosliServer) -> None:
    commit = repo.linear(1)[0]
    server.add(*history("aws-beta", [[artifact(commit)]]))
    assert run_cli("snapshot", "list", "aws-beta", cwd=repo.path).exit_code == 0
    path = cache_path(repo.path / ".git", server.org, server.url)
    assert path.exists()
    path.write_bytes(b"\0" * 4096)

    broken = run_cli("snapshot", "list", "aws-beta", cwd=repo.path)
    path.unlink()
    again = run_cli("snapshot", "list", "aws-beta", cwd=repo.path)

    assert broken.exit_code == 128
    assert broken.stderr == (
        f"fatal: {path} cannot be read as a cache of what was fetched from Kosli (file is not a database)\n"
        f"hint: it can be deleted safely; what it held is fetched again: rm {path}\n"
    )
    assert again.exit_code == 0 and "#1" in again.stdout


def test_messages_have_no_capital_start_nor_full_stop(tmp_path: Path, run_cli: RunCli) -> None:
    result = run_cli("where", "HEAD", cwd=tmp_path)

    assert result.exit_code == 128
    assert result.stderr.startswith("fatal: not a git repository")
    assert not result.stderr.rstrip().endswith(".")


@pytest.mark.parametrize(
    "args",
    [
        ["fetch", "--", "--output=x"],
        ["fetch", "--background", "--", "a/b"],
        ["where", "HEAD", "--env", "../x"],
        ["status", "--env", "a b"],
        ["timeline", "--", "-prod"],
        ["notes", "--env", "a\x1b[31mb"],
    ],
)
def test_a_string_that_is_no_environment_name_is_refused_before_any_request(
    args: list[str], repo: GitRepo, run_cli: RunCli, server: KosliServer
) -> None:
    repo.linear(1)

    result = run_cli(*args, cwd=repo.path)

    assert result.exit_code == 129
    assert result.stderr.startswith("error: '") and result.stderr.count("\n") == 1
    assert "is not an environment name" in result.stderr and "\x1b" not in result.stderr
    assert server.requests == []
    assert not (repo.path / ".git" / "kosli" / "fetch.lock").exists()
