"""`git kosli install-man [DIR]`: the man page where man finds it, for installers that leave it out (uv tool)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click


@click.command("install-man")
@click.argument("directory", metavar="[DIR]", required=False, type=click.Path(file_okay=False, path_type=Path))
def install_man(directory: Path | None) -> None:
    """Write the man page to DIR/man1/git-kosli.1, so that `git kosli --help` and `git help kosli` open it.

    DIR defaults to the share/man folder beside the bin folder git-kosli runs from (for uv tool,
    ~/.local/share/man), which man searches while that bin folder is on PATH. pip and pipx install
    the page themselves.
    """
    from git_kosli.cli import cli
    from git_kosli.manpage import default_directory, install
    from git_kosli.terminal import man_page_or_none

    if directory is None:
        directory = default_directory(sys.argv[0], shutil.which("git-kosli"), os.environ.get("HOME"))
    target = install(directory, cli)
    click.echo(f"installed {target}")
    found = man_page_or_none(os.environ)
    if found is None or Path(found).resolve() != target.resolve():
        click.echo(f"hint: man does not look in {directory}; add it to MANPATH:", err=True)
        click.echo(f'hint:   export MANPATH="{directory}:$MANPATH"', err=True)
