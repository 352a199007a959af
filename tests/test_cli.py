"""The command line as git users expect it: version, help, exit codes."""

from __future__ import annotations

from tests.conftest import RunCli, git_kosli
from tests.gitrepo import GitRepo


def test_version(run_cli: RunCli) -> None:
    result = run_cli("--version")
    assert (result.exit_code, result.stdout) == (0, "git kosli version 0.1.0\n")


def test_help_lists_the_commands(run_cli: RunCli) -> None:
    result = run_cli("-h")
    assert result.exit_code == 0
    for command in ("bisect", "snapshot", "demo"):
        assert command in result.stdout


def test_unknown_command_and_option_are_usage_errors(run_cli: RunCli) -> None:
    unknown = run_cli("bisekt")
    assert unknown.exit_code == 129
    assert unknown.stderr.startswith("error: No such command 'bisekt'.\nusage: git kosli")
    option = run_cli("snapshot", "list", "env", "--bogus")
    assert option.exit_code == 129
    assert option.stderr == "error: No such option '--bogus'.\nusage: git kosli snapshot list [OPTIONS] ENV\n"


def test_git_finds_the_extension(repo: GitRepo) -> None:
    result = git_kosli("--version", cwd=repo.path)
    assert (result.returncode, result.stdout) == (0, "git kosli version 0.1.0\n")
