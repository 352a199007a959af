"""The command line as git users expect it: version, help, exit codes."""

from __future__ import annotations

import json

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


def test_unknown_command_and_option_are_usage_errors_in_gits_voice(run_cli: RunCli) -> None:
    unknown = run_cli("bisekt")
    option = run_cli("snapshot", "list", "env", "--jsn")
    missing = run_cli("diff", "aws-beta")
    extra = run_cli("diff", "a", "b", "c")
    bad = run_cli("log", "env", "--color=sometimes")

    assert unknown.exit_code == option.exit_code == missing.exit_code == extra.exit_code == bad.exit_code == 129
    assert unknown.stderr == (
        "error: 'bisekt' is not a git kosli command; see 'git kosli help'\n"
        "usage: git kosli [OPTIONS] COMMAND [ARGS]...\n"
    )
    assert option.stderr == (
        "error: unknown option '--jsn'\nhint: did you mean '--json'?\nusage: git kosli snapshot list [OPTIONS] ENV\n"
    )
    assert missing.stderr.startswith("error: missing argument 'SNAP2'\nusage: git kosli diff")
    assert extra.stderr.startswith("error: unexpected argument 'c'\nusage: git kosli diff")
    assert bad.stderr.startswith(
        "error: invalid value for '--color': 'sometimes' is not one of 'auto', 'always', 'never'\n"
    )


def test_plain_git_kosli_and_a_bare_group_print_their_usage_without_an_error(run_cli: RunCli) -> None:
    plain = run_cli()
    group = run_cli("snapshot")

    assert (plain.exit_code, plain.stderr) == (1, "")
    assert plain.stdout.startswith("Usage: git kosli [OPTIONS] COMMAND [ARGS]...")
    assert "  where " in plain.stdout
    assert (group.exit_code, group.stderr) == (1, "")
    assert group.stdout.startswith("Usage: git kosli snapshot [OPTIONS] COMMAND [ARGS]...")


def test_bisect_usage_shows_the_short_form(run_cli: RunCli) -> None:
    result = run_cli("bisect", "-h")

    assert result.stdout.startswith(
        "Usage: git kosli bisect [OPTIONS] OLD NEW [-- PATHSPEC...]\n   or: git kosli bisect COMMAND [ARGS]...\n"
    )


def test_global_options_work_after_the_command_too(repo: GitRepo, run_cli: RunCli) -> None:
    repo.linear(1)

    before = run_cli("--org", "acme", "--host", "https://eu.kosli.example", "config", "--json", cwd=repo.path)
    after = run_cli("config", "--json", "--org", "acme", "--host", "https://eu.kosli.example", cwd=repo.path)
    local = run_cli("config", "--org", "acme", "--source", "local", "--json", cwd=repo.path)
    wins = run_cli("--org", "first", "config", "--org", "second", "--json", cwd=repo.path)

    assert after.exit_code == 0, after.stderr
    assert json.loads(after.stdout) == json.loads(before.stdout)
    assert json.loads(after.stdout)["settings"]["org"] == {"value": "acme", "origin": "--org"}
    assert json.loads(local.stdout)["source"] == "local"
    assert json.loads(wins.stdout)["settings"]["org"]["value"] == "second"


def test_git_finds_the_extension(repo: GitRepo) -> None:
    result = git_kosli("--version", cwd=repo.path)
    assert (result.returncode, result.stdout) == (0, "git kosli version 0.1.0\n")
