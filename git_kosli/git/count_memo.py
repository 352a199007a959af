"""What git counted between two commits, kept: the commits only one of a pair has never change.

`rev-list --count --left-right OLD...NEW` costs time in proportion to how far apart the two
are (about 100 ms for 130,000 commits), and hooks, `status`, `diff` and `log` ask the same
pairs again and again (what an environment runs against what is pushed, one deploy against
the next). The memo is one text file in the repository's `kosli` folder, a line per pair:
`OLD NEW OLD_ONLY NEW_ONLY`. Lines are appended whole with O_APPEND (a writer killed halfway
leaves a line without its newline, which the next reader skips, as any line it cannot read);
the file never follows a symbolic link, and a repository it cannot be written in just goes
without. A shallow clone keeps no memo: its counts grow when it is deepened.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import cast

from git_kosli.files import write_atomically
from git_kosli.model import CommitSha, Divergence

_LINE = re.compile(r"^([0-9a-f]{40}|[0-9a-f]{64}) ([0-9a-f]{40}|[0-9a-f]{64}) (\d{1,9}) (\d{1,9})$", re.MULTILINE)
_READ = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_APPEND = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
MAX_BYTES = 192 << 10  # about 2,000 pairs (read in 3 ms); beyond it the newer half is kept
Pair = tuple[CommitSha, CommitSha]


def memo_path(common_dir: Path) -> Path:
    """Where the counts of one repository (all its worktrees) are kept."""
    return common_dir / "kosli" / "counts"


class CountMemo:
    """The pairs git counted before, read once when first asked, and those it counts now, appended."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._known: dict[Pair, Divergence] | None = None
        self._above: dict[str, list[tuple[CommitSha, int]]] | None = None  # made when first asked

    def get(self, pair: Pair) -> Divergence | None:
        """The counts of (OLD, NEW), or of (NEW, OLD) turned round; None when git never counted them here."""
        known = self._load()
        found = known.get(pair)
        if found is not None:
            return found
        swapped = known.get((pair[1], pair[0]))
        return None if swapped is None else Divergence(old_only=swapped.new_only, new_only=swapped.old_only)

    def descendants(self, commit: CommitSha, *, most: int = 4) -> list[tuple[CommitSha, int]]:
        """Commits counted against `commit` that contain it, with how many commits only they have; newest first."""
        if self._above is None:
            self._above = {}
            self._index(self._load())
        return self._above.get(commit, [])[::-1][:most]

    def _index(self, counted: Mapping[Pair, Divergence]) -> None:
        """Note, for each commit, the counted commits that contain it (one of a pair has none of its own)."""
        if self._above is None:
            return
        for (old, new), d in counted.items():
            if d.old_only == 0:
                self._above.setdefault(old, []).append((new, d.new_only))
            elif d.new_only == 0:
                self._above.setdefault(new, []).append((old, d.old_only))

    def add(self, counted: Mapping[Pair, Divergence]) -> None:
        """Keep pairs git has just counted; a file that cannot be written is left as it is."""
        fresh = {pair: d for pair, d in counted.items() if self.get(pair) is None}
        if not fresh:
            return
        lines = "".join(f"{old} {new} {d.old_only} {d.new_only}\n" for (old, new), d in fresh.items())
        with contextlib.suppress(OSError):  # read-only, full, or a link in the way: the memo is only a saving
            self._append(lines.encode())
            self._load().update(fresh)
            self._index(fresh)

    def _append(self, data: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, _APPEND, 0o666)
        try:
            size = os.fstat(descriptor).st_size
            if size and os.pread(descriptor, 1, size - 1) != b"\n":
                data = b"!\n" + data  # spoil the unfinished line a killed writer left: read whole, it would lie
            os.write(descriptor, data)  # one write: a concurrent writer's lines never land inside these
        finally:
            os.close(descriptor)
        if size + len(data) > MAX_BYTES:
            self._trim()

    def _trim(self) -> None:
        """Keep the newer half of the lines, replacing the file whole."""
        text = self._read()
        lines = text.splitlines(keepends=True)
        write_atomically(self.path, "".join(lines[len(lines) // 2 :]))

    def _load(self) -> dict[Pair, Divergence]:
        if self._known is None:
            text = self._read()
            whole = text[: text.rfind("\n") + 1]  # the last piece has no newline: unfinished
            found = {(old, new): Divergence(int(a), int(b)) for old, new, a, b in _LINE.findall(whole)}
            self._known = cast(dict[Pair, Divergence], found)  # the shas as read, checked by _LINE
        return self._known

    def _read(self) -> str:
        try:
            descriptor = os.open(self.path, _READ)
        except OSError:
            return ""
        with os.fdopen(descriptor, "rb") as memo:
            return memo.read(MAX_BYTES * 2).decode("ascii", errors="replace")
