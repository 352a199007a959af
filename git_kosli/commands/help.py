"""`git kosli help [COMMAND...]`: the help text without man, for machines where `git kosli --help` finds no page."""

from __future__ import annotations

import click

from git_kosli.errors import UsageError


@click.command("help")
@click.argument("names", metavar="[COMMAND]...", nargs=-1)
@click.pass_context
def help_(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Show the help of git kosli, or of one command (`git kosli help snapshot show`).

    `git kosli --help` opens the man page, as for git's own commands; this works where man is missing.
    """
    root = ctx.find_root()
    command: click.Command = root.command
    context = root
    for name in names:
        found = command.get_command(context, name) if isinstance(command, click.Group) else None
        if found is None:
            raise UsageError(f"'{' '.join(names)}' is not a git kosli command; see 'git kosli help'")
        context = click.Context(found, info_name=name, parent=context)
        command = found
    click.echo(context.get_help())
