"""Completion: the candidates, and the bash, zsh and fish scripts driven as the shells drive them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import RunCli, installed_env
from tests.factory import artifact, history, seed
from tests.gitrepo import GitRepo
from tests.kosli_server import KosliServer

GIT_BASH_COMPLETION = Path("/usr/share/bash-completion/completions/git")


@pytest.fixture
def stored(repo: GitRepo) -> GitRepo:
    commits = repo.linear(3)
    seed(
        repo.path, *history("aws-beta", [[artifact(c)] for c in commits]), *history("staging", [[artifact(commits[0])]])
    )
    repo.branch("feature")
    return repo


def complete(run_cli: RunCli, repo: GitRepo, *words: str) -> list[str]:
    result = run_cli("__complete", "--", *words, cwd=repo.path)
    assert result.exit_code == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["sn"], ["snapshot"]),
        (["snapshot", ""], ["import", "list", "record", "show"]),
        (["snapshot", "show", "st"], ["staging"]),
        (["snapshot", "show", "aws-beta#"], ["aws-beta#3", "aws-beta#2", "aws-beta#1"]),
        (["diff", "aws-beta#1", "aws-beta#"], ["aws-beta#3", "aws-beta#2", "aws-beta#1"]),
        (
            ["bisect", ""],
            ["bad", "good", "next", "reset", "run", "skip", "start", "status", "view", "aws-beta", "staging"],
        ),
        (["bisect", "s"], ["skip", "start", "status", "staging"]),
        (["bisect", "start", "aws-beta#1", "s"], ["staging"]),
        (["--source", "local", "log", ""], ["aws-beta", "staging"]),
        (["log", "--in"], ["--interval"]),
        (["diff", "--co"], ["--color"]),
        (["diff", "--color", ""], ["auto", "always", "never"]),
        (["status", "--env", "a"], ["aws-beta"]),
        (["where", "fe"], ["feature"]),
        (["fetch", "aws-beta", "s"], ["staging"]),
        (["timeline", "a"], ["aws-beta"]),
        (["timeline", "--mark", "2026-10-01", "--op"], ["--open"]),
        (["timeline", "--mark", "2026-10-01", "--o"], ["--offline", "--open", "--org", "--output"]),  # global ones too
        (["environments", "--j"], ["--json"]),
        (["frobnicate", ""], []),
    ],
)
def test_candidates(stored: GitRepo, run_cli: RunCli, words: list[str], expected: list[str]) -> None:
    assert complete(run_cli, stored, *words) == expected


def test_hidden_commands_are_not_offered(stored: GitRepo, run_cli: RunCli) -> None:
    assert "__complete" not in complete(run_cli, stored, "")
    assert "completion" in complete(run_cli, stored, "")


def test_completion_never_touches_the_network(repo: GitRepo, run_cli: RunCli, server: KosliServer) -> None:
    commit = repo.linear(1)[0]
    server.add(*history("aws-beta", [[artifact(commit)]]))
    cold = complete(run_cli, repo, "snapshot", "show", "")
    assert run_cli("snapshot", "list", "aws-beta", cwd=repo.path).exit_code == 0
    server.requests.clear()
    warm = complete(run_cli, repo, "snapshot", "show", "aws-beta#")

    assert cold == []  # nothing cached yet, and nothing fetched for it
    assert warm == ["aws-beta#1"]
    assert server.requests == []


@pytest.mark.skipif(not GIT_BASH_COMPLETION.exists() or not shutil.which("bash"), reason="needs git's bash completion")
def test_bash_completes_through_gits_own_completion(stored: GitRepo) -> None:
    script = f"""
        source {GIT_BASH_COMPLETION}
        eval "$(git kosli completion bash)"
        COMP_WORDS=(git kosli snapshot show 'aws-beta#'); COMP_CWORD=4
        COMP_LINE="git kosli snapshot show aws-beta#"; COMP_POINT=${{#COMP_LINE}}
        $(complete -p git | awk '{{print $(NF-1)}}')
        printf '%s\\n' "${{COMPREPLY[@]}}"
    """
    done = subprocess.run(
        ["bash", "-c", script], cwd=stored.path, env=installed_env(), capture_output=True, text=True, check=False
    )

    assert done.stdout.split() == ["aws-beta#3", "aws-beta#2", "aws-beta#1"], done.stderr


@pytest.mark.skipif(not shutil.which("zsh"), reason="needs zsh")
def test_zsh_script_offers_the_candidates(stored: GitRepo, tmp_path: Path) -> None:
    function = tmp_path / "_git-kosli"
    function.write_text(
        subprocess.run(
            ["git", "kosli", "completion", "zsh"], env=installed_env(), capture_output=True, text=True, check=True
        ).stdout
    )
    script = f'compadd() {{ shift 4; print -l -- "$@"; }}; words=(kosli log s); CURRENT=3; source {function}'
    done = subprocess.run(
        ["zsh", "-f", "-c", script], cwd=stored.path, env=installed_env(), capture_output=True, text=True, check=False
    )

    assert done.stdout.split() == ["staging"], done.stderr


@pytest.mark.skipif(not shutil.which("fish"), reason="needs fish (Debian package fish)")
def test_fish_completes_git_kosli_and_git_dash_kosli(stored: GitRepo, tmp_path: Path) -> None:
    conf_d = tmp_path / "home" / ".config" / "fish" / "conf.d"
    conf_d.mkdir(parents=True)
    (conf_d / "git-kosli.fish").write_text(
        subprocess.run(
            ["git", "kosli", "completion", "fish"], env=installed_env(), capture_output=True, text=True, check=True
        ).stdout
    )

    def fish(line: str) -> list[str]:
        done = subprocess.run(
            ["fish", "-c", f"complete -C {line!r}"],
            cwd=stored.path,
            env=installed_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert fish("git kosli snapshot show aws-beta#") == ["aws-beta#3", "aws-beta#2", "aws-beta#1"]
    assert fish("git -C . kosli log s") == ["staging"]
    assert fish("git-kosli snap") == ["snapshot"]
