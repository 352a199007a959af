"""What writing notes says: the one line `git kosli notes` and `git kosli fetch` print. Pure."""

from __future__ import annotations


def notes_line(*, changed: bool, count: int) -> str:
    """`wrote notes for 3 commits in refs/notes/kosli`, or `up to date: ...`."""
    state = "wrote" if changed else "up to date:"
    return f"{state} notes for {count} commit{'s' if count != 1 else ''} in refs/notes/kosli"
