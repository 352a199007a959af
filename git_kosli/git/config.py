"""Settings as git sees them: one `git config --list` call, read once per command.

Honours every config file git reads, `-c` and `GIT_CONFIG_PARAMETERS`, because
git itself does the reading.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from git_kosli.git.run import run_git


class GitConfig(NamedTuple):
    """All config entries in the order git lists them (later ones win)."""

    entries: tuple[tuple[str, str], ...]

    @classmethod
    def load(cls, cwd: Path) -> GitConfig:
        """Read the configuration git would use here: the repository's, or outside one the global and system ones."""
        out = run_git(["config", "-z", "--list"], cwd=cwd, check=False).stdout
        entries = []
        for item in out.split("\0"):
            if item:
                key, _, value = item.partition("\n")
                entries.append((_canonical(key), value))
        return cls(tuple(entries))

    def get_or_none(self, key: str) -> str | None:
        """The last value of a key, as `git config --get` gives it."""
        values = self.get_all(key)
        return values[-1] if values else None

    def get_all(self, key: str) -> list[str]:
        """Every value of a multi-valued key."""
        wanted = _canonical(key)
        return [value for name, value in self.entries if name == wanted]

    def remote_urls(self) -> list[str]:
        """The URLs of every remote (fetch and push)."""
        return [
            value
            for name, value in self.entries
            if name.startswith("remote.") and (name.endswith(".url") or name.endswith(".pushurl"))
        ]


def git_bool(value: str | None) -> bool | None:
    """A boolean as git spells one (true/yes/on/1, false/no/off/0, any case); None for anything else."""
    word = (value or "").strip().lower()
    if word in ("true", "yes", "on", "1"):
        return True
    if word in ("false", "no", "off", "0"):
        return False
    return None


def _canonical(key: str) -> str:
    """Section and variable names are case-insensitive; a subsection is not."""
    section, _, rest = key.partition(".")
    subsection, _, variable = rest.rpartition(".")
    return ".".join(part for part in (section.lower(), subsection, variable.lower()) if part)


def git_var_or_none(name: str, cwd: str | Path | None) -> str | None:
    """What `git var NAME` prints (`GIT_PAGER`, `GIT_EDITOR`), None when git cannot say."""
    asked = run_git(["var", name], cwd=cwd, check=False)
    return asked.stdout.strip() if asked.returncode == 0 else None
