"""The `git kosli` command line: registers commands, and alone decides exit codes and error output.

Commands load lazily, so `git kosli --version` (or a hook) imports almost nothing.
"""

from __future__ import annotations

import gc
import importlib
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from git_kosli import loud_interrupts, quiet_interrupts

_QUIET = quiet_interrupts(only_as_the_command=False)  # Ctrl-C while the rest is imported: exit 130, no traceback

import click  # noqa: E402

from git_kosli import __version__  # noqa: E402
from git_kosli.errors import ExitCode, KosliError, NotARepositoryError, UsageError  # noqa: E402

# name -> "module:attribute"; a command's module is imported only when it runs.
COMMANDS = {
    "bisect": "git_kosli.commands.bisect:bisect",
    "build": "git_kosli.commands.build:build",
    "completion": "git_kosli.commands.completion:completion",
    "__complete": "git_kosli.commands.completion:complete",
    "config": "git_kosli.commands.config:config",
    "demo": "git_kosli.commands.demo:demo",
    "hook": "git_kosli.commands.hook:hook",
    "install-man": "git_kosli.commands.install_man:install_man",
    "diff": "git_kosli.commands.diff:diff",
    "env": "git_kosli.commands.env:env",
    "fetch": "git_kosli.commands.fetch:fetch",
    "help": "git_kosli.commands.help:help_",
    "log": "git_kosli.commands.log:log",
    "notes": "git_kosli.commands.notes:notes",
    "pre-push": "git_kosli.commands.pre_push:pre_push",
    "snapshot": "git_kosli.commands.snapshot:snapshot",
    "status": "git_kosli.commands.status:status",
    "timeline": "git_kosli.commands.timeline:timeline",
    "where": "git_kosli.commands.where:where",
}
ALIASES = {"environments": "env"}  # other spellings of a command, not listed in help

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
SETTINGS = "git_kosli.settings"  # ctx.meta keys: the options given, wherever on the command line
TERMINAL = "git_kosli.terminal"


def _kept(flags: list[str], key: str, name: str, value: str | None = None, **attributes: Any) -> click.Option:
    """An option whose value is kept for AppContext, so that it works before or after the command name."""

    def remember(ctx: click.Context, param: click.Parameter, given: Any) -> None:
        if given:
            ctx.meta.setdefault(key, {})[name] = value or given

    return click.Option(flags, expose_value=False, callback=remember, **attributes)


def global_options() -> list[click.Option]:
    """The options of `git kosli` itself, accepted after any command too (`git kosli where SHA --org acme`)."""
    return [
        _kept(
            ["--source"],
            SETTINGS,
            "source",
            type=click.Choice(["kosli", "local"]),
            help="Read Kosli (default when an org is set) or the embedded store.",
        ),
        _kept(
            ["--org"], SETTINGS, "org", metavar="ORG", help="The Kosli organization (default: KOSLI_ORG, kosli.org)."
        ),
        _kept(
            ["--host"],
            SETTINGS,
            "host",
            metavar="URL",
            help="The Kosli server (default: KOSLI_HOST, kosli.host, https://app.kosli.com).",
        ),
        _kept(
            ["--offline"],
            SETTINGS,
            "offline",
            "true",
            is_flag=True,
            help="Answer from the cache of what was fetched before; no requests.",
        ),
        _kept(
            ["--debug"],
            SETTINGS,
            "debug",
            "true",
            is_flag=True,
            help="Print each request to Kosli (method, URL, status, time) on stderr.",
        ),
        _kept(
            ["--color"],
            TERMINAL,
            "color",
            metavar="[=WHEN]",
            type=click.Choice(["auto", "always", "never"]),
            is_flag=False,
            flag_value="always",
            help="Colour the output: auto (as color.kosli / color.ui say), always or never.",
        ),
        _kept(["--no-color"], TERMINAL, "color", "never", is_flag=True, help="Same as --color=never."),
        _kept(["--no-pager"], TERMINAL, "no-pager", is_flag=True, help="Do not pipe long output into the pager."),
    ]


GLOBAL_OPTIONS = frozenset(name for option in global_options() for name in option.opts)


def _with_global_options(command: click.Command) -> click.Command:
    """Give a command (and a group's subcommands) the options of `git kosli` itself, once."""
    if not any(p.name == "no_pager" for p in command.params):
        command.params.extend(global_options())
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _with_global_options(sub)
    return command


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *(name for name in self.lazy if not name.startswith("_"))})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd_name = ALIASES.get(cmd_name, cmd_name)
        if cmd_name in self.lazy:
            module_name, attribute = self.lazy[cmd_name].split(":")
            command: click.Command = getattr(importlib.import_module(module_name), attribute)
            return _with_global_options(command)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="git kosli", message="%(prog)s version %(version)s")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Kosli environment snapshots as git commit ranges: bisect, where, diff and log over deployments.

    The options below work after any command as well (git kosli where SHA --org acme), where the
    Kosli CLI takes its own.
    """
    from git_kosli.context import AppContext

    options = ctx.meta.setdefault(SETTINGS, {})
    terminal = ctx.meta.setdefault(TERMINAL, {})
    try:
        here = os.getcwd()
    except FileNotFoundError:
        raise NotARepositoryError("the current directory no longer exists") from None
    ctx.obj = AppContext(cwd=here, environ=dict(os.environ), options=options, terminal=terminal)
    ctx.call_on_close(ctx.obj.close)


cli.params.extend(global_options())
if _QUIET:
    loud_interrupts()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return git's exit code: 0, 1 (a "no"), 128 (fatal), 129 (usage).

    Without the cyclic garbage collector: a command builds tens of thousands of records that
    never form cycles, which the collector kept rescanning (3-5% of a bisect, a where or a
    diff); a command's memory is freed when it ends.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run(argv)
    finally:
        if collecting:
            gc.enable()
        quiet_interrupts(only_as_the_command=True)  # Ctrl-C while the process ends (threads joined): still no traceback


def _run(argv: Sequence[str] | None) -> int:
    args = _bare_color_means_always(list(argv) if argv is not None else sys.argv[1:])
    if args == ["--help"] and _man_page_shown():
        return ExitCode.OK
    if not args:  # as plain `git` does: the usage and the commands, and exit 1
        with click.Context(cli, info_name="git kosli") as ctx:
            click.echo(ctx.get_help())
        return ExitCode.NO
    try:
        result = cli.main(args=args, prog_name="git kosli", standalone_mode=False)
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.UsageError as error:
        if type(error).__name__ == "NoArgsIsHelpError" and error.ctx is not None:  # `git kosli snapshot`: no error
            click.echo(error.ctx.get_help())
            return ExitCode.NO
        _print_usage_error(error)
        return ExitCode.USAGE
    except UsageError as error:
        _print_error("error", error)
        return ExitCode.USAGE
    except KosliError as error:
        _print_error("fatal", error)
        return error.exit_code
    except (click.Abort, KeyboardInterrupt):
        click.echo("", err=True)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (`git kosli log | head`); nothing more to say
        return ExitCode.OK
    except OSError as error:  # the file system said no: read-only, full, gone; what was written is whole or absent
        place = f"{error.filename}: " if error.filename else ""
        click.echo(f"fatal: {_one_line(place + (error.strerror or str(error)))}", err=True)
        return ExitCode.FATAL
    except Exception:  # the one place an unexpected error becomes a message
        return _report_bug()
    return int(result) if isinstance(result, int) else ExitCode.OK


def _man_page_shown() -> bool:
    """`git-kosli --help` opens the man page as `git kosli --help` does; without one, click's help follows.

    (`git kosli --help` never reaches us: git runs `man git-kosli` itself.)
    """
    from git_kosli.terminal import show_man_page

    return show_man_page(os.environ)


def _bare_color_means_always(args: list[str]) -> list[str]:
    """`--color` alone is `--color=always`, as in git: it never takes the next word as its value."""
    end = args.index("--") if "--" in args else len(args)
    return [("--color=always" if arg == "--color" else arg) for arg in args[:end]] + args[end:]


def _print_error(prefix: str, error: KosliError) -> None:
    """`fatal: MESSAGE` (or `error: ...`) and a `hint: ...` line for each thing to do next, as git prints them.

    Each is one line of clean text: whatever a server, a file or git put in a message cannot forge another.
    """
    click.echo(f"{prefix}: {_one_line(error.message)}", err=True)
    for hint in error.hints:
        click.echo(f"hint: {_one_line(hint)}", err=True)


def _one_line(message: str) -> str:
    from git_kosli.model import clean_text

    return clean_text(" ".join(message.split("\n")))


def _print_usage_error(error: click.UsageError) -> None:
    """Click's usage errors in git's voice (lower case, no full stop, suggestions as hints), then the usage line."""
    possibilities = [f"'{p}'" for p in getattr(error, "possibilities", None) or []]
    command = re.match(r"No such command (['\"])(.*)\1\.$", error.message)
    extra = re.match(r"Got unexpected extra arguments? \((.*)\)$", error.message)
    if isinstance(error, click.NoSuchOption):
        message = f"unknown option '{error.option_name}'"
    elif command is not None:
        message = f"'{command.group(2)}' is not a git kosli command; see 'git kosli help'"
    elif extra is not None:
        message = f"unexpected argument{'s' if ' ' in extra.group(1) else ''} '{extra.group(1)}'"
    else:
        message = error.format_message().strip().removesuffix(".")
        message = message[:1].lower() + message[1:] if message[1:2].islower() or message[1:2] == " " else message
    click.echo(f"error: {message}", err=True)
    if possibilities:
        click.echo(f"hint: did you mean {' or '.join(possibilities)}?", err=True)
    if error.ctx is not None:
        click.echo(error.ctx.get_usage().replace("Usage:", "usage:", 1), err=True)


def _report_bug() -> int:
    import tempfile  # only here: importing it costs every command ~10 ms
    import traceback

    with tempfile.NamedTemporaryFile("w", prefix="git-kosli-crash-", suffix=".txt", delete=False) as log:
        traceback.print_exc(file=log)
    error = sys.exc_info()[1]
    click.echo(f"fatal: internal error ({type(error).__name__}): this is a bug in git kosli", err=True)
    click.echo(f"hint: the traceback is in {log.name}; please report it with that file", err=True)
    return ExitCode.FATAL
