"""What git kosli keeps of a bisect beside git's own state: a typed, versioned record in one file per worktree.

git keeps the bisect itself (refs/bisect/*, BISECT_LOG); this record holds what git cannot know:
the two snapshots and the artifact, the builds in the range, the phase and the options of the
start. It lives at `kosli/bisect.json` in the worktree's git dir, written atomically.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from git_kosli.errors import BisectRefusedError
from git_kosli.files import write_atomically
from git_kosli.git.repository import RepoPaths

VERSION = 1


class Phase(StrEnum):
    """Where a built-first bisect stands."""

    BUILT = "built"  # built commits are proposed, each tested from its artifact
    UNBUILT = "unbuilt"  # git's own bisect over what is left
    DONE = "done"  # the first bad commit is known


@dataclass(frozen=True)
class BuildRecord:
    """A commit of the range that produced an artifact: what `run --deployed` hands the test."""

    artifact: str
    fingerprint: str
    flow: str | None
    display: str

    @property
    def label(self) -> str:
        """The short name people read (`runner:6a29198`), else the full one."""
        return self.display or self.artifact


@dataclass
class BisectState:
    """One bisect that git kosli started."""

    old: str  # the good snapshot, `ENV#N`
    new: str  # the bad snapshot
    artifact: str
    flow: str | None
    old_commit: str
    new_commit: str
    builds: dict[str, BuildRecord] = field(default_factory=dict)
    phase: Phase = Phase.UNBUILT
    first_parent: bool = False
    pathspec: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The file's content."""
        return {
            "version": VERSION,
            "old": self.old,
            "new": self.new,
            "artifact": {
                "name": self.artifact,
                "flow": self.flow,
                "old_commit": self.old_commit,
                "new_commit": self.new_commit,
            },
            "builds": {
                sha: {"artifact": b.artifact, "fingerprint": b.fingerprint, "flow": b.flow, "display": b.display}
                for sha, b in self.builds.items()
            },
            "phase": self.phase.value,
            "first_parent": self.first_parent,
            "pathspec": list(self.pathspec),
        }

    @classmethod
    def from_json(cls, data: Any, path: Path) -> BisectState:
        """Read a record back, refusing one this version does not know (or that is damaged).

        Raises:
            BisectRefusedError: naming the file and what to do.
        """
        if not isinstance(data, Mapping) or data.get("version") != VERSION:
            found = data.get("version") if isinstance(data, Mapping) else None
            raise BisectRefusedError(
                f"{path} holds git kosli bisect state of version {found!r}, not {VERSION}: it was written by "
                f"another git kosli; end this bisect with 'git kosli bisect reset' and start it again"
            )
        try:
            ends = data["artifact"]
            return cls(
                old=str(data["old"]),
                new=str(data["new"]),
                artifact=str(ends["name"]),
                flow=None if ends["flow"] is None else str(ends["flow"]),
                old_commit=str(ends["old_commit"]),
                new_commit=str(ends["new_commit"]),
                builds={
                    str(sha): BuildRecord(
                        str(b["artifact"]),
                        str(b["fingerprint"]),
                        None if b["flow"] is None else str(b["flow"]),
                        str(b["display"]),
                    )
                    for sha, b in data["builds"].items()
                },
                phase=Phase(data["phase"]),
                first_parent=bool(data["first_parent"]),
                pathspec=[str(spec) for spec in data["pathspec"]],
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise BisectRefusedError(
                f"{path} is damaged; end this bisect with 'git kosli bisect reset' and start it again"
            ) from None


def state_file(paths: RepoPaths) -> Path:
    """Where this worktree keeps the record."""
    return paths.worktree_path("kosli/bisect.json")


def save(paths: RepoPaths, state: BisectState) -> None:
    """Write the record atomically (a link in its place is replaced, never written through)."""
    write_atomically(state_file(paths), json.dumps(state.to_json(), indent=2) + "\n")


def load_or_none(paths: RepoPaths) -> BisectState | None:
    """The record of the bisect in progress here, or None when git kosli did not start it.

    Raises:
        BisectRefusedError: the record is of another version or damaged.
    """
    path = state_file(paths)
    if not paths.worktree_path("BISECT_START").exists() or not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = None
    return BisectState.from_json(data, path)


def forget(paths: RepoPaths) -> None:
    """Remove the record (the bisect ended)."""
    state_file(paths).unlink(missing_ok=True)
