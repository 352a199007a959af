"""`git kosli demo [DIR]`: build the demo world and walk through the incident with real commands."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import click

from git_kosli.errors import KosliError


@click.command()
@click.argument("directory", default="kosli-demo", type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-run", is_flag=True, help="Only build the repository and its store.")
def demo(directory: Path, no_run: bool) -> None:
    """Build a demo service repository with an incident in its deployment history, and trace it.

    DIRECTORY (default: kosli-demo) must be new, empty, or an earlier demo, which is rebuilt.
    """
    from git_kosli import demo as world

    target = directory.resolve()
    if target.exists() and any(target.iterdir()):
        if not world.is_demo(target):
            raise KosliError(f"'{directory}' exists and is not an earlier demo; choose a new directory")
        shutil.rmtree(target)
    built = world.build(target)
    click.echo(f"Built {directory}: the runner service, and what ran in aws-beta and aws-prod.")
    if no_run:
        return
    click.echo(f"\nA riddle to start: {world.RIDDLE}\nThe answer is in the commit that broke aws-beta#6.\n")
    click.echo("aws-beta#6 is broken; aws-beta#5 worked. Which commit broke it?")
    _show(target, ["git", "kosli", "bisect", "aws-beta#5", "aws-beta#6"])
    _show(target, ["git", "bisect", "run", "./test.sh"])
    culprit = _git(target, "rev-parse", "refs/bisect/bad").strip()
    click.echo(f"\nThe culprit is {culprit[:7]}, a commit no build was made from on its own:\n")
    click.echo(_git(target, "log", "-1", "--format=%B", culprit).rstrip())
    if culprit != built.culprit:
        raise KosliError(f"the demo found {culprit[:7]}, not the planted culprit {built.culprit[:7]}")
    click.echo(
        f"\nExplore it yourself:\n"
        f"  export PATH=\"{sysconfig.get_path('scripts')}:$PATH\"   # where git-kosli is installed\n"
        f"  cd {directory}\n"
        f"  git bisect log                    # the bisect, as git recorded it\n"
        f"  git log                           # notes (refs/notes/kosli) say where each commit ran\n"
        f"  git kosli snapshot list aws-beta\n"
        f"  git bisect reset                  # when you are done\n"
    )


def _show(cwd: Path, command: list[str]) -> None:
    """Print a command as the user would type it, then run it with its output going straight through."""
    click.echo(f"\n$ {' '.join(command)}", color=False)
    sys.stdout.flush()
    result = subprocess.run(command, cwd=cwd, env=_child_env(), check=False)
    if result.returncode != 0:
        raise KosliError(f"'{' '.join(command)}' exited {result.returncode}")


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=_child_env(), check=True, capture_output=True, text=True).stdout


def _child_env() -> dict[str, str]:
    """Our environment, with this installation's `git-kosli` first on PATH."""
    scripts = sysconfig.get_path("scripts")
    return {**os.environ, "PATH": os.pathsep.join([scripts, os.environ.get("PATH", "")])}
