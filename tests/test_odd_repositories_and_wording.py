"""Odd command lines, odd repositories and what git kosli says about them: git's conventions, in English.

(A bare repository's `bisect reset` is held in test_no_data_loss.py, a certificate failure in
test_secrets_and_trust.py.)
"""

from __future__ import annotations

import pytest

from git_kosli.model import CommitSha
from tests.conftest import RunCli
from tests.factory import artifact, history, seed
from tests.gitrepo import GitRepo, bisect_refs


@pytest.fixture
def ran(repo: GitRepo) -> list[CommitSha]:
    commits = repo.linear(4)
    seed(repo.path, *history("env", [[artifact(commits[0])], [artifact(commits[3])]]))
    return commits


@pytest.mark.parametrize(
    "args",
    [("env#1", "env#2", "env#3"), ("start", "env#1", "env#2", "env~1"), ("env#1", "env#2", "env#3", "--", "a.txt")],
)
def test_a_third_snapshot_without_dashes_is_a_usage_error_not_a_pathspec(
    args: tuple[str, ...], ran: list[CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    result = run_cli("bisect", *args, cwd=repo.path)

    assert result.exit_code == 129
    third = args[3] if args[0] == "start" else args[2]
    assert result.stderr.startswith(
        f"error: '{third}' is a third snapshot argument: bisect takes OLD and NEW, and paths only after '--'\n"
    )
    assert bisect_refs(repo.path) == {} and not (repo.path / ".git" / "BISECT_START").exists()


def test_paths_after_dashes_still_limit_the_bisect(ran: list[CommitSha], repo: GitRepo, run_cli: RunCli) -> None:
    result = run_cli("bisect", "env#1", "env#2", "--", "c3.txt", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    assert "1 candidate commit," in result.stdout


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("env@{0001-01-01T00:00:00}", "no snapshot of 'env' at env@{0001-01-01T00:00:00}: its first snapshot is from"),
        (
            "env@{99999999999.days.ago}",
            "no snapshot of 'env' at env@{99999999999.days.ago}: its first snapshot is from",
        ),
        ("env@{30000.months.ago}", "no snapshot of 'env' at env@{30000.months.ago}: its first snapshot is from"),
    ],
)
def test_times_before_any_snapshot_are_echoed_as_typed(
    typed: str, said: str, ran: list[CommitSha], repo: GitRepo, run_cli: RunCli
) -> None:
    result = run_cli("snapshot", "show", typed, cwd=repo.path)

    assert result.exit_code == 128
    assert result.stderr.startswith(f"fatal: {said} ")
    assert len(result.stderr.splitlines()) == 1


def test_messages_about_nothing_read_as_english(repo: GitRepo, run_cli: RunCli) -> None:
    repo.commit("a")
    empty = run_cli("where", "HEAD", cwd=repo.path)
    assert empty.stderr.splitlines()[0] == "fatal: no environments to look in: no snapshots yet"

    seed(repo.path, *history("beta", [[artifact(None, "miner")]]))
    rogue_only = run_cli("where", "HEAD", cwd=repo.path)
    assert rogue_only.stderr == (
        "fatal: no artifact in beta was built from this repository (none of their artifacts names a flow or a commit)\n"
    )
