"""How text reaches the terminal, decided as git decides it: colour, pager and progress.

- Colour: `--color=always|never|auto`, else `color.kosli`, else `color.ui`, read as
  `git config --get-colorbool color.kosli TTY` reads them; inside git's pager
  (`GIT_PAGER_IN_USE`) stdout counts as a terminal, as git's own commands treat it.
- Pager: long output goes through `git var GIT_PAGER` when stdout is a terminal, unless
  `--no-pager`, `pager.kosli=false`, or git already started one.
- Progress: on stderr, only when stderr is a terminal, and only after a second
  (`GIT_PROGRESS_DELAY` seconds, as git).
- The man page: shown by man when man finds it, as `git help` would.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from git_kosli.git.config import GitConfig, git_bool, git_var_or_none
from git_kosli.views.text import END, Style, plain

_RESET = "\x1b[m"
_COLOURS = str.maketrans(
    {
        Style.SNAPSHOT: "\x1b[33m",  # yellow
        Style.FLAG: "\x1b[1;31m",  # bold red
        Style.AHEAD: "\x1b[32m",  # green
        Style.BEHIND: "\x1b[31m",  # red
        END: _RESET,
    }
)


def in_git_pager(environ: Mapping[str, str]) -> bool:
    """True when git started a pager for us (`pager.kosli`, `git -p kosli`)."""
    return git_bool(environ.get("GIT_PAGER_IN_USE")) is True


def want_color(choice: str | None, environ: Mapping[str, str], *, stdout_tty: bool, config: GitConfig) -> bool:
    """Whether to colour stdout: the option, else `color.kosli`, else `color.ui`, read as git reads a colorbool.

    `always` and `never` decide; `auto`, a true value or no setting mean: when stdout is a terminal
    (or git's pager) whose TERM is not dumb, as `git config --get-colorbool color.kosli TTY` answers.
    """
    setting = choice
    for key in ("color.kosli", "color.ui"):
        setting = config.get_or_none(key) if setting is None else setting
    word = (setting or "auto").strip().lower()
    if word in ("always", "never"):
        return word == "always"
    if word != "auto" and git_bool(setting) is False:
        return False
    term = environ.get("TERM")
    return (stdout_tty or in_git_pager(environ)) and bool(term) and term != "dumb"


def paint(text: str, *, colour: bool) -> str:
    """The view's marked parts (snapshots, flags, ahead and behind counts) in colour, or the plain text."""
    return _paint(text) if colour else plain(text)


def _paint(text: str) -> str:
    return plain(text.translate(_COLOURS))  # marks of no known style (from outside text) are dropped


def pager_command(environ: Mapping[str, str], *, cwd: str | None, enabled: Callable[[], bool]) -> str | None:
    """The pager to start for stdout, or None: not a terminal, git's pager already runs, or paging is off."""
    if not sys.stdout.isatty() or in_git_pager(environ) or not enabled():
        return None
    command = git_var_or_none("GIT_PAGER", cwd)
    command = environ.get("PAGER", "less") if command is None else command
    return None if command in ("", "cat") else command


def page(text: str, command: str, environ: Mapping[str, str]) -> None:
    """Show text through the pager, with git's defaults for less and lv."""
    env = {**environ, "GIT_PAGER_IN_USE": "true"}
    env.setdefault("LESS", "FRX")
    env.setdefault("LV", "-c")
    sys.stdout.flush()
    with subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, env=env, text=True) as pager:
        try:
            assert pager.stdin is not None
            pager.stdin.write(text)
            pager.stdin.close()
        except BrokenPipeError:
            pass  # the user quit the pager before the end
        pager.wait()


def man_page_or_none(environ: Mapping[str, str]) -> str | None:
    """Where man finds `git-kosli(1)` (MANPATH, or the `share/man` beside each PATH folder), or None."""
    try:
        found = subprocess.run(
            ["man", "-w", "git-kosli"], env=dict(environ), capture_output=True, text=True, check=False, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = found.stdout.splitlines()
    return lines[0] if found.returncode == 0 and lines else None


def show_man_page(environ: Mapping[str, str]) -> bool:
    """Show `git-kosli(1)` with man, as `git help kosli` does; False, showing nothing, when man cannot find it."""
    if man_page_or_none(environ) is None:
        return False
    sys.stdout.flush()
    subprocess.run(["man", "git-kosli"], env=dict(environ), check=False)
    return True


def progress_delay(environ: Mapping[str, str]) -> float:
    """Seconds before progress shows: `GIT_PROGRESS_DELAY` as git reads it, else one."""
    value = environ.get("GIT_PROGRESS_DELAY", "")
    return float(value) if value.isdigit() else 1.0


class Progress:
    """`title: NN% (done/total)` on stderr, redrawn in place; only on a terminal and after `delay` seconds.

    It ends its line itself (`, done.`) when `done` reaches `total`, as git's progress does.
    """

    def __init__(self, title: str, total: int, *, stream: TextIO | None = None, delay: float = 1.0) -> None:
        self.title = title
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty()
        self._start = time.monotonic()
        self._delay = delay
        self._shown = False

    def update(self, done: int) -> None:
        """Record progress; draws only when it is worth showing."""
        if not self.enabled or not (self._shown or time.monotonic() - self._start >= self._delay):
            return
        percent = done * 100 // self.total if self.total else 100
        end = ", done.\n" if done >= self.total else ""
        self.stream.write(f"\r{self.title}: {percent:3d}% ({done}/{self.total}){end}")
        self.stream.flush()
        self._shown = True
