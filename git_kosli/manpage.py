"""`git-kosli.1`, generated from the click commands so that it never drifts from them.

`git kosli --help` is turned by git into `man git-kosli`. The wheel ships the page as
`share/man/man1/git-kosli.1` (from `man/git-kosli.1`, which a test keeps current), so man finds it
from the environment's `bin` on PATH; `git kosli install-man [DIR]` writes it where an installer
left it out (uv tool). `python -m git_kosli.manpage [FILE]` prints it or writes it to FILE.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click

from git_kosli import __version__
from git_kosli.files import write_atomically

EXIT_STATUS = (
    ("0", "Success."),
    ("1", 'A "no" answer: the snapshots differ (diff), the commit is not running (where).'),
    ("128", "A fatal error, printed as one line starting with fatal:."),
    ("129", "A usage error, printed with the command's usage line."),
)


def commands(group: click.Group, ctx: click.Context) -> Iterator[tuple[str, click.Command, click.Context]]:
    """Every command and subcommand, with its full name (`snapshot show`), in the order `--help` lists them."""
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        sub_ctx = click.Context(command, info_name=name, parent=ctx)
        yield name, command, sub_ctx
        if isinstance(command, click.Group):
            for sub_name, sub, sub_sub_ctx in commands(command, sub_ctx):
                yield f"{name} {sub_name}", sub, sub_sub_ctx


def render(root: click.Group) -> str:
    """The whole page in roff."""
    ctx = click.Context(root, info_name="git kosli")
    lines = [
        f'.TH GIT-KOSLI 1 "" "git-kosli {__version__}" "Git Manual"',
        ".SH NAME",
        r"git-kosli \- " + _escape(_first_line(root.help)),
        ".SH SYNOPSIS",
        ".nf",
        r"\fBgit kosli\fR [\fIOPTIONS\fR] \fICOMMAND\fR [\fIARGS\fR]",
        *_synopsis(root, ctx),
        ".fi",
        ".SH DESCRIPTION",
        *_paragraphs(root.help or ""),
        ".SH OPTIONS",
        *_options(root, ctx),
        ".SH COMMANDS",
    ]
    for name, command, sub in commands(root, ctx):
        lines += [f'.SS "git kosli {name}"', *_paragraphs(command.help or ""), *_options(command, sub, shared=False)]
    lines += [".SH SETTINGS", *_settings()]
    lines += [".SH EXIT STATUS"]
    for code, meaning in EXIT_STATUS:
        lines += [".TP", rf"\fB{code}\fR", _escape(meaning)]
    lines += [".SH SEE ALSO", r"\fBgit-bisect\fR(1), \fBgit-notes\fR(1), \fBgithooks\fR(5)"]
    return "\n".join(lines) + "\n"


def _synopsis(root: click.Group, ctx: click.Context) -> Iterator[str]:
    """A line per command; a group with a default command (`bisect`) first in its short form."""
    from git_kosli.completion import DEFAULTS

    for name, command, sub in commands(root, ctx):
        if isinstance(command, click.Group):
            default = command.get_command(sub, DEFAULTS.get(name, ""))
            if default is not None:
                short = click.Context(default, info_name=name, parent=ctx)
                yield rf"\fBgit kosli {name}\fR {_escape(_arguments(default, short))}"
            continue
        yield rf"\fBgit kosli {name}\fR {_escape(_arguments(command, sub))}"


def _arguments(command: click.Command, ctx: click.Context) -> str:
    pieces = [p.make_metavar(ctx) for p in command.params if isinstance(p, click.Argument)]
    return " ".join(["[OPTIONS]", *pieces])


def _options(command: click.Command, ctx: click.Context, *, shared: bool = True) -> list[str]:
    """Each option and its help; `shared=False` leaves out the options of git kosli itself, said once for all."""
    from git_kosli.cli import GLOBAL_OPTIONS

    out = []
    for param in command.params:
        record = param.get_help_record(ctx)
        if record is None or not isinstance(param, click.Option) or (not shared and set(param.opts) <= GLOBAL_OPTIONS):
            continue
        names, help_text = record
        out += [".TP", rf"\fB{_escape(names)}\fR", _escape(help_text)]
    return out


def _settings() -> list[str]:
    from git_kosli.sources.settings import KEYS

    out = _paragraphs(
        "Highest first: command-line option, KOSLI_* variable, git config kosli.*, the Kosli CLI's config file "
        "(KOSLI_CONFIG_FILE, else ~/.kosli.yml), default. git kosli config shows the result."
    )
    for key in KEYS:
        names = ", ".join(filter(None, (key.env, key.git)))
        default = f" (default: {key.default})" if key.default else ""
        out += [".TP", rf"\fB{_escape(names)}\fR", _escape(key.help + default)]
    return out


def _paragraphs(text: str) -> list[str]:
    out = []
    for block in text.strip().split("\n\n"):
        if block.strip() and not block.strip().startswith("\b"):
            out += [".PP", _escape(" ".join(line.strip() for line in block.splitlines()))]
    return out


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if text else ""


def _escape(text: str) -> str:
    """Text safe in roff: backslashes doubled, no line starting with a control character."""
    text = text.replace("\\", "\\\\").replace("-", "\\-")
    return "\\&" + text if text.startswith((".", "'")) else text


def default_directory(program: str, found_on_path: str | None, home: str | None) -> Path:
    """The man folder beside the `bin` folder git-kosli runs from, which man searches when that `bin` is on PATH.

    `program` is how the running git-kosli was started (a script path when run from PATH, links left
    as they are: uv tool's `~/.local/bin/git-kosli` gives `~/.local/share/man`); `found_on_path` is
    `git-kosli` looked up on PATH, for when it was started otherwise; else `~/.local/share/man`.
    """
    for candidate in (program, found_on_path):
        if candidate and Path(candidate).name == "git-kosli" and os.path.isabs(candidate):
            return Path(candidate).parent.parent / "share" / "man"
    return Path(home or "~").expanduser() / ".local" / "share" / "man"


def install(directory: Path, root: click.Group) -> Path:
    """Write the page to DIRECTORY/man1/git-kosli.1 and return that path.

    Written to a new file that is then renamed over the old one: a link at that name is replaced,
    never followed.
    """
    target = directory / "man1" / "git-kosli.1"
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=".git-kosli.1.", dir=target.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(render(root))
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def main(argv: list[str] | None = None) -> int:
    """Print the page, or write it to the file named."""
    from git_kosli.cli import cli

    args = sys.argv[1:] if argv is None else argv
    page = render(cli)
    if not args:
        sys.stdout.write(page)
        return 0
    write_atomically(Path(args[0]), page.encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
