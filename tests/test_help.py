"""Help as git's own commands have it: a man page generated from the commands, `help`, `-h`, usage errors."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from git_kosli.cli import COMMANDS, cli
from git_kosli.manpage import commands, render
from git_kosli.sources.settings import KEYS
from tests.conftest import RunCli, installed_env

ALL = [name for name, _, _ in commands(cli, click.Context(cli, info_name="git kosli"))]
INSTALLED = Path(sys.prefix) / "share" / "man" / "man1" / "git-kosli.1"
SHIPPED = Path(__file__).resolve().parents[1] / "man" / "git-kosli.1"  # what the wheel installs


def test_the_man_page_lists_every_command_option_and_setting() -> None:
    page = render(cli)

    assert {c for c in COMMANDS if not c.startswith("_")} <= {name.split()[0] for name in ALL}
    for name in ALL:
        assert f'.SS "git kosli {name}"' in page
    for name, command, _ in commands(cli, click.Context(cli, info_name="git kosli")):
        for option in (p for p in command.params if isinstance(p, click.Option) and not p.hidden):
            roff = option.opts[0].replace("-", "\\-")
            assert f"\\fB{roff}" in page, f"git kosli {name} {option.opts[0]}"
    for key in KEYS:
        assert key.env in page
    assert "snapshot show" in ALL and "hook install" in ALL
    assert "\\fBgit kosli bisect\\fR [OPTIONS] OLD NEW [PATHSPEC]..." in page  # the short form, as people type it


def test_the_shipped_and_installed_man_pages_are_the_current_one() -> None:
    assert SHIPPED.read_text() == render(cli), "run make: man/git-kosli.1 is regenerated from the commands"
    assert INSTALLED.read_text() == render(cli), "run make: it installs the page in the venv"


@pytest.mark.skipif(shutil.which("man") is None, reason="needs man")
def test_git_kosli_help_opens_the_man_page(tmp_path: Path) -> None:
    env = installed_env(MANPAGER="cat", MANWIDTH="80")
    env.pop("MANPATH", None)

    shown = subprocess.run(
        ["git", "kosli", "--help"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    warnings = subprocess.run(
        ["man", "--warnings", "-l", str(INSTALLED)], env=env, capture_output=True, text=True, check=False
    )

    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.lstrip().startswith("GIT-KOSLI(1)")
    assert "git kosli snapshot show" in shown.stdout
    assert warnings.stderr == ""


@pytest.mark.parametrize("name", ALL)
def test_h_on_every_command(name: str, run_cli: RunCli) -> None:
    result = run_cli(*name.split(), "-h")

    assert result.exit_code == 0
    assert result.stdout.startswith(f"Usage: git kosli {name} ")


def test_help_command_without_man(run_cli: RunCli) -> None:
    direct = run_cli("snapshot", "show", "-h")
    helped = run_cli("help", "snapshot", "show")
    top = run_cli("help")
    unknown = run_cli("help", "deploy")

    assert (helped.exit_code, helped.stdout) == (0, direct.stdout)
    assert top.stdout.startswith("Usage: git kosli [OPTIONS] COMMAND [ARGS]...")
    assert all(f"  {name} " in top.stdout for name in COMMANDS if not name.startswith("_"))
    assert unknown.exit_code == 129
    assert unknown.stderr == "error: 'deploy' is not a git kosli command; see 'git kosli help'\n"


@pytest.mark.parametrize(
    ("args", "usage"),
    [
        (["diff", "aws-beta"], "usage: git kosli diff [OPTIONS] SNAP1 SNAP2"),
        (["log", "--bogus", "x"], "usage: git kosli log [OPTIONS] ENV"),
        (["frobnicate"], "usage: git kosli [OPTIONS] COMMAND [ARGS]..."),
    ],
)
def test_usage_errors_exit_129_with_the_usage_line(args: list[str], usage: str, run_cli: RunCli) -> None:
    result = run_cli(*args)

    assert result.exit_code == 129
    assert result.stderr.startswith("error: ")
    assert usage in result.stderr


def test_plain_git_kosli_dash_dash_help_falls_back_to_the_built_in_help_without_a_page(tmp_path: Path) -> None:
    env = installed_env(MANPAGER="cat", MANPATH=str(tmp_path / "no-pages"))

    shown = subprocess.run(["git-kosli", "--help"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)

    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("Usage: git kosli [OPTIONS] COMMAND [ARGS]...")


@pytest.mark.skipif(shutil.which("man") is None, reason="needs man")
def test_install_man_puts_the_page_where_man_finds_it(tmp_path: Path, run_cli: RunCli) -> None:
    pages = tmp_path / "pages"
    env = installed_env(MANPAGER="cat", MANWIDTH="80", MANPATH=str(pages))

    installed = run_cli("install-man", str(pages))
    shown = subprocess.run(["git-kosli", "--help"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)

    assert installed.stdout == f"installed {pages / 'man1' / 'git-kosli.1'}\n"
    assert (pages / "man1" / "git-kosli.1").read_text() == render(cli)
    assert shown.stdout.lstrip().startswith("GIT-KOSLI(1)"), shown.stderr


def test_install_man_replaces_a_link_instead_of_writing_through_it(tmp_path: Path, run_cli: RunCli) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (tmp_path / "pages" / "man1").mkdir(parents=True)
    (tmp_path / "pages" / "man1" / "git-kosli.1").symlink_to(victim)

    assert run_cli("install-man", str(tmp_path / "pages")).exit_code == 0
    assert victim.read_text() == "keep me"
    assert not (tmp_path / "pages" / "man1" / "git-kosli.1").is_symlink()
