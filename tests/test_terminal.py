"""Colour, pager and progress as git decides them: tested through pipes and a real pseudo-terminal."""

from __future__ import annotations

import os
import pty
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import RunCli, installed_env
from tests.factory import artifact, history, seed
from tests.gitrepo import GitRepo, git
from tests.kosli_server import KosliServer

URL = "https://github.com/acme/web"
ESC = "\x1b["


@pytest.fixture
def deployed(repo: GitRepo) -> GitRepo:
    """staging runs three commits ahead of aws-beta; aws-beta also runs a rogue artifact."""
    commits = repo.linear(6)
    seed(
        repo.path,
        *history("aws-beta", [[artifact(commits[1], url=URL), artifact(None, "db")]]),
        *history("staging", [[artifact(commits[1], url=URL)], [artifact(commits[4], url=URL)]]),
    )
    return repo


def on_terminal(args: list[str], cwd: Path, env: dict[str, str], *, stderr_tty: bool = False) -> tuple[str, str]:
    """Run `git kosli ARGS` with stdout (and optionally stderr) on a pseudo-terminal; returns both outputs."""
    primary, secondary = pty.openpty()
    environ = installed_env(**{"TERM": "xterm", **env})
    process = subprocess.Popen(
        ["git", "kosli", *args],
        cwd=cwd,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=secondary if stderr_tty else subprocess.PIPE,
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the terminal closed: every writer has exited
            break
        if not chunk:
            break
        chunks.append(chunk)
    _, err = process.communicate(timeout=30)
    os.close(primary)
    return b"".join(chunks).decode().replace("\r\n", "\n"), (err or b"").decode()


def test_color_never_and_always_on_any_command(deployed: GitRepo, run_cli: RunCli) -> None:
    never = run_cli("diff", "aws-beta", "staging", "--color=never", cwd=deployed.path)
    always = run_cli("diff", "aws-beta", "staging", "--color=always", cwd=deployed.path)
    before = run_cli("--color", "diff", "aws-beta", "staging", cwd=deployed.path)

    assert ESC not in never.stdout
    assert f"{ESC}33maws-beta#1{ESC}m" in always.stdout
    assert f"{ESC}32mahead +3{ESC}m" in always.stdout
    assert f"{ESC}1;31mrogue{ESC}m" in always.stdout
    assert before.stdout == always.stdout
    assert always.stdout.replace(f"{ESC}m", "").count(ESC) == always.stdout.count(f"{ESC}m")


def test_a_bad_color_value_is_a_usage_error(deployed: GitRepo, run_cli: RunCli) -> None:
    result = run_cli("diff", "aws-beta", "staging", "--color=sometimes", cwd=deployed.path)

    assert result.exit_code == 129
    assert "'sometimes' is not one of 'auto', 'always', 'never'" in result.stderr


@pytest.mark.parametrize(
    ("config", "coloured"),
    [
        ({}, False),
        ({"color.ui": "always"}, True),
        ({"color.ui": "always", "color.kosli": "false"}, False),
        ({"color.kosli": "always"}, True),
        ({"color.ui": "true"}, False),
    ],  # true means auto, as in git
)
def test_color_follows_git_config_through_a_pipe(
    deployed: GitRepo, run_cli: RunCli, config: dict[str, str], coloured: bool
) -> None:
    for key, value in config.items():
        git(deployed.path, "config", key, value)

    result = run_cli("log", "staging", cwd=deployed.path)

    assert (ESC in result.stdout) is coloured


def test_inside_git_pager_auto_colour_is_on(
    deployed: GitRepo, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_PAGER_IN_USE", "true")

    assert ESC in run_cli("log", "staging", cwd=deployed.path).stdout
    assert ESC not in run_cli("log", "staging", "--color=never", cwd=deployed.path).stdout


def test_on_a_terminal_auto_colour_is_on_unless_the_terminal_is_dumb_or_git_config_says_no(deployed: GitRepo) -> None:
    plain = {"GIT_PAGER": "cat"}
    coloured, _ = on_terminal(["log", "staging"], deployed.path, plain)
    dumb, _ = on_terminal(["log", "staging"], deployed.path, {**plain, "TERM": "dumb"})
    git(deployed.path, "config", "color.ui", "false")
    configured_off, _ = on_terminal(["log", "staging"], deployed.path, plain)

    assert f"{ESC}33mstaging#2{ESC}m" in coloured
    assert ESC not in dumb and "staging#2" in dumb
    assert ESC not in configured_off and "staging#2" in configured_off


def test_long_output_on_a_terminal_goes_through_the_pager(deployed: GitRepo) -> None:
    env = {"GIT_PAGER": "sed 's/^/paged: /'"}

    paged, _ = on_terminal(["log", "staging"], deployed.path, env)
    unpaged, _ = on_terminal(["log", "staging", "--no-pager"], deployed.path, env)
    git(deployed.path, "config", "pager.kosli", "false")
    configured_off, _ = on_terminal(["log", "staging"], deployed.path, env)

    assert f"paged: {ESC}33mstaging#2{ESC}m" in paged, "coloured in the pager, as git's color.pager default"
    assert "paged:" not in unpaged and "staging#2" in unpaged
    assert "paged:" not in configured_off and "staging#2" in configured_off


def test_no_pager_when_git_already_started_one(deployed: GitRepo) -> None:
    out, _ = on_terminal(
        ["log", "staging"], deployed.path, {"GIT_PAGER": "sed 's/^/paged: /'", "GIT_PAGER_IN_USE": "true"}
    )

    assert "paged:" not in out and "staging#2" in out


def test_progress_shows_on_a_terminal_and_never_in_a_pipe(repo: GitRepo) -> None:
    commits = repo.linear(4)
    with KosliServer() as server:
        server.add(*history("aws-beta", [[artifact(c, url=URL)] for c in commits]))
        server.add(*history("staging", [[artifact(c, url=URL)] for c in commits[:2]]))
        env = {**server.env(), "GIT_PROGRESS_DELAY": "0"}
        _, tty_err = on_terminal(["notes"], repo.path, env, stderr_tty=True)
        git(repo.path, "update-ref", "-d", "refs/notes/kosli")
        piped = subprocess.run(
            ["git", "kosli", "notes"],
            cwd=repo.path,
            capture_output=True,
            text=True,
            check=False,
            env=installed_env(**env),
        )

    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == ""
    assert piped.stdout == "wrote notes for 4 commits in refs/notes/kosli\n"
    assert tty_err == ""  # stderr went to the terminal, not the pipe


def test_progress_lines_are_drawn_on_the_terminal(repo: GitRepo) -> None:
    commits = repo.linear(4)
    with KosliServer() as server:
        server.add(*history("aws-beta", [[artifact(c, url=URL)] for c in commits]))
        server.add(*history("staging", [[artifact(c, url=URL)] for c in commits[:2]]))
        out, _ = on_terminal(["notes"], repo.path, {**server.env(), "GIT_PROGRESS_DELAY": "0"}, stderr_tty=True)

    assert "Fetching environment histories: 100% (2/2), done.\n" in out
    assert "Writing notes: 100% (4/4), done.\n" in out
    assert out.endswith("wrote notes for 4 commits in refs/notes/kosli\n")


ANSI = re.compile(r"\x1b\[[0-9;]*m")
TRICKY = ["Link jira#123 and aws-beta#2", "Bump retries +5 (behind -2)", "Drop not-contained rogue non-compliant"]


def test_colour_is_painted_per_cell_never_in_a_commit_subject(repo: GitRepo, run_cli: RunCli) -> None:
    base = repo.commit("base")
    tricky = [repo.commit(subject) for subject in TRICKY]
    seed(repo.path, *history("aws-beta", [[artifact(base, url=URL)], [artifact(tricky[-1], url=URL)]]))

    diff = run_cli("diff", "aws-beta#1", "aws-beta#2", "--log", "--color=always", cwd=repo.path).stdout
    diff_plain = run_cli("diff", "aws-beta#1", "aws-beta#2", "--log", "--color=never", cwd=repo.path).stdout
    table = run_cli("bisect", "aws-beta#1", "aws-beta#2", "--color=always", cwd=repo.path).stdout

    for sha, subject in zip(tricky, TRICKY, strict=True):
        assert f"  + {sha[:7]} {subject}\n" in diff  # not a colour code in the line
        row = next(line for line in table.splitlines() if line.startswith(sha[:7]))
        assert f"{sha[:7]}   {subject}" in row
        assert ESC not in row.split(subject)[0] + subject
    assert ANSI.sub("", diff) == diff_plain  # the alignment is the same as without colour
    assert f"{ESC}33maws-beta#1{ESC}m -> {ESC}33maws-beta#2{ESC}m" in diff
    assert f"{ESC}32mahead +3{ESC}m" in diff
    assert f"{ESC}33maws-beta#2{ESC}m" in table  # the snapshots in the deployments column are


def test_tables_align_on_what_shows(deployed: GitRepo, run_cli: RunCli) -> None:
    coloured = run_cli("status", "--color=always", cwd=deployed.path).stdout
    plain = run_cli("status", "--color=never", cwd=deployed.path).stdout

    assert f"{ESC}1;31mrogue{ESC}m" in coloured
    assert ANSI.sub("", coloured) == plain
