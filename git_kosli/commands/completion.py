"""`git kosli completion bash|zsh|fish` prints a completion script; the hidden `__complete` answers it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from git_kosli.context import AppContext, pass_app
from git_kosli.model import EnvName

_T = TypeVar("_T")


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the completion script for SHELL (install instructions are at its top and in the README).

    It completes commands, options, environment names and, after `ENV#`, snapshot numbers, from what
    is stored or cached locally: completing never waits for the network.
    """
    from git_kosli.completion import SCRIPTS

    click.echo(SCRIPTS[shell], nl=False)


@click.command("__complete", hidden=True, context_settings={"ignore_unknown_options": True})
@click.argument("words", nargs=-1, type=click.UNPROCESSED)
@pass_app
def complete(app: AppContext, words: tuple[str, ...]) -> None:
    """Print the candidates for the last of WORDS, one a line."""
    from git_kosli.cli import cli
    from git_kosli.completion import candidates

    app.options["offline"] = "true"  # answer from the store or the cache only
    found = candidates(
        cli,
        list(words),
        environments=lambda: _quietly(lambda: [str(e) for e in app.source.environments()]),
        numbers=lambda env: _quietly(lambda: [s.index for s in app.source.history(EnvName(env))]),
        revisions=lambda: _quietly(app.history.ref_names),
    )
    app.take_old_data_notice()  # offline by design: how old the cache is is not a completion's to say
    click.echo("\n".join(found))


def _quietly(lookup: Callable[[], list[_T]]) -> list[_T]:
    """Nothing rather than an error: a completion that fails just offers nothing."""
    from git_kosli.errors import KosliError

    try:
        return lookup()
    except (KosliError, OSError):
        return []
