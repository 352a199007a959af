"""`git kosli demo [DIR]`: build the demo world and tell its story, one chapter at a time, with real commands."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from git_kosli.errors import KosliError

if TYPE_CHECKING:
    from git_kosli.demo import Demo


@dataclass(frozen=True)
class Step:
    """A command of a chapter, with the exit codes that mean it worked (diff exits 1 on a difference)."""

    command: tuple[str, ...]
    codes: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class Chapter:
    """A question, the commands that answer it, and what to say after them."""

    title: str
    story: str
    steps: Callable[[Demo], list[Step]]
    epilogue: Callable[[Path, Demo], str] | None = None


TIMELINE = "timeline.html"  # written beside the demo's files, and ignored by git there
INCIDENT = "2026-10-02T05:00:00"  # when aws-beta broke, after #6 started


def _kosli(*args: str, codes: tuple[int, ...] = (0,)) -> Step:
    return Step(("git", "kosli", *args), codes)


def _culprit_found(path: Path, built: Demo) -> str:
    from git_kosli.git import repository

    culprit = repository.commit_or_none(path, "refs/bisect/bad") or "nothing"
    if culprit != built.culprit:
        raise KosliError(f"the demo found {culprit[:7]}, not the planted culprit {built.culprit[:7]}")
    message = repository.message(path, culprit).rstrip()
    return f"The culprit is {culprit[:7]}, a commit no build was made from on its own:\n\n{message}"


CHAPTERS = [
    Chapter(
        "Is there any difference between beta and prod right now?",
        "Each artifact of aws-prod is paired with its twin in aws-beta by flow. For the runner, which this\n"
        "repository builds, the difference is a range of commits: beta is ahead, running builds that are\n"
        "waiting for approval to reach prod. saver and differ come from other repositories.",
        lambda d: [_kosli("diff", "aws-prod", "aws-beta", "--log", codes=(0, 1))],
    ),
    Chapter(
        "Something is running that should not be.",
        "In aws-prod#6 an artifact started that no flow ever reported: no build, no commit. Kosli calls it an\n"
        "artifact without provenance; here it is a crypto-miner.",
        lambda d: [_kosli("diff", "aws-prod~1", "aws-prod", codes=(0, 1))],
    ),
    Chapter(
        "An artifact is running without its evidence.",
        "aws-beta#7 started a saver build whose evidence is incomplete: Kosli reports it non-compliant.",
        lambda d: [_kosli("diff", "aws-beta~1", "aws-beta", codes=(0, 1))],
    ),
    Chapter(
        "The incident.",
        "aws-beta broke after snapshot #6; #5 worked. What changed, and which commit did it?",
        lambda d: [
            _kosli("log", "aws-beta"),
            _kosli("bisect", "aws-beta#5", "aws-beta#6"),
            Step(("git", "bisect", "run", "./test.sh")),
        ],
        _culprit_found,
    ),
    Chapter(
        "Where is that commit now?",
        "The culprit was never built on its own, but every build since contains it.",
        lambda d: [_kosli("where", d.culprit, codes=(0, 1))],
    ),
    Chapter(
        "A rollback in prod.",
        "At aws-prod#5 the runner went back to an older build. The commits it took out are gone from prod.",
        lambda d: [_kosli("log", "aws-prod"), _kosli("where", d.commits["c8"], codes=(0, 1))],
    ),
    Chapter(
        "Annotate the history.",
        "Everything above, written where git shows it: as notes under refs/notes/kosli.",
        lambda d: [_kosli("notes"), Step(("git", "log", "--oneline", "--notes=kosli", "-8", "main"))],
    ),
    Chapter(
        "What runs where, in plain git and in a picture.",
        "`git kosli fetch` points refs/kosli/ENV at the commit each environment runs, so git itself answers:\n"
        "which commit beta runs, and what a deploy of main would bring it. The timeline draws the whole story;\n"
        f"open {TIMELINE} in a browser.",
        lambda d: [
            _kosli("fetch"),
            _kosli("env"),
            Step(("git", "log", "--oneline", "--decorate", "--decorate-refs=refs/kosli/", "-4", "main")),
            Step(("git", "log", "--oneline", "kosli/aws-beta..main")),
            _kosli("timeline", "-o", TIMELINE, "--mark", f"{INCIDENT}=incident"),
        ],
    ),
]


@click.command()
@click.argument("directory", default="kosli-demo", type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-run", is_flag=True, help="Only build the repository and its store.")
@click.option("--chapter", type=click.IntRange(1, len(CHAPTERS)), help="Run this chapter only.")
@click.option("--force", is_flag=True, help="Replace DIRECTORY even when it is not an untouched earlier demo.")
def demo(directory: Path, no_run: bool, chapter: int | None, force: bool) -> None:
    """Build a demo service repository and its deployment history, and trace a production incident.

    DIRECTORY (default: kosli-demo) must be new, empty, or an earlier demo left as it was built,
    which is rebuilt; anything else is replaced only with --force.
    """
    from git_kosli import demo as world

    target = directory.absolute()
    _clear(directory, target, force=force)
    built = world.build(target)
    click.echo(f"Built {directory}: the runner service, and what ran in aws-beta and aws-prod.")
    if no_run:
        return
    click.echo(f"\nA riddle to start: {world.RIDDLE}\nThe answer is in the commit that broke aws-beta#6.")
    for number, story in enumerate(CHAPTERS, start=1):
        if chapter in (None, number):
            _tell(number, story, target, built)
    click.echo(
        f"\nExplore it yourself:\n"
        f'  export PATH="{sysconfig.get_path("scripts")}:$PATH"   # where git-kosli is installed\n'
        f"  cd {directory}\n"
        f"  git bisect log                    # the bisect, as git recorded it\n"
        f"  git log                           # notes (refs/notes/kosli) say where each commit ran\n"
        f"  git kosli snapshot list aws-beta\n"
        f"  git bisect reset                  # when you are done\n"
    )


def _clear(directory: Path, target: Path, *, force: bool) -> None:
    """Make room for the demo: delete an untouched earlier demo, or with --force whatever is there."""
    from git_kosli import demo as world

    if target.is_symlink():
        if not force:
            raise KosliError(f"'{directory}' is a symbolic link; choose a directory (or --force to replace the link)")
        target.unlink()  # the link goes; what it points to is not ours
        return
    if not target.exists() or not any(target.iterdir()):
        return
    problem = world.not_rebuildable(target)
    if problem is not None and not force:
        raise KosliError(f"'{directory}' {problem}; choose a new directory, or use --force to replace it")
    shutil.rmtree(target)


def _tell(number: int, chapter: Chapter, path: Path, built: Demo) -> None:
    click.echo(f"\n== {number}. {chapter.title}\n\n{chapter.story}")
    for step in chapter.steps(built):
        _show(path, step)
    if chapter.epilogue is not None:
        click.echo(f"\n{chapter.epilogue(path, built)}")


def _show(cwd: Path, step: Step) -> None:
    """Print a command as the user would type it, then run it with its output going straight through."""
    line = " ".join(step.command)
    click.echo(f"\n$ {line}")
    sys.stdout.flush()
    result = subprocess.run(step.command, cwd=cwd, env=_child_env(), check=False)
    if result.returncode not in step.codes:
        raise KosliError(f"'{line}' exited {result.returncode}")


def _child_env() -> dict[str, str]:
    """Our environment, with this installation's `git-kosli` first on PATH."""
    scripts = sysconfig.get_path("scripts")
    return {**os.environ, "PATH": os.pathsep.join([scripts, os.environ.get("PATH", "")])}
