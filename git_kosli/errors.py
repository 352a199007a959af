"""Every failure git kosli reports, with the exit code git would use.

    KosliError                      exit 128 (fatal), message printed as `fatal: ...`
    ├── UsageError                  exit 129: the command line itself is wrong
    │   └── SnapshotExprError       a snapshot expression that does not parse
    ├── NotARepositoryError         not inside a git repository
    ├── UnknownRevisionError        a commit-ish that does not name a commit here
    ├── SourceError                 the snapshot source cannot answer
    │   ├── UnknownEnvironmentError
    │   ├── SnapshotNotFoundError   a number out of range, a time before the first snapshot
    │   ├── StoreConflictError      importing a different snapshot under an existing number
    │   ├── ApiError                Kosli answered with an error, or not at all
    │   └── OfflineError            --offline and the cache lacks what is asked
    ├── BisectRefusedError          a bisect cannot start or go on
    └── GitCommandError             a git subprocess failed unexpectedly

Only the CLI layer turns these into output and exit codes (see `cli.main`).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

GET_SNAPSHOTS = (
    "read them from Kosli: git config kosli.org ORG (or export KOSLI_ORG=ORG)",
    "or import them: git kosli snapshot import ENV FILE (what kosli get snapshot ENV#N --output json prints)",
)
"""The hints for a repository with no snapshots: no Kosli org set, nothing in the embedded store."""


class ExitCode(IntEnum):
    """Exit codes as git uses them."""

    OK = 0
    NO = 1  # a "no" answer or a difference, like `git diff --exit-code`
    FATAL = 128
    USAGE = 129
    INTERRUPTED = 130


class KosliError(Exception):
    """A failure to report in one line naming the input; `hints` say what to do next (`hint: ...` lines)."""

    exit_code: ExitCode = ExitCode.FATAL

    def __init__(self, message: str, *, hints: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hints = tuple(hints)


class UsageError(KosliError):
    """The command line is wrong."""

    exit_code = ExitCode.USAGE


class SnapshotExprError(UsageError):
    """A snapshot expression that does not parse; `column` is 1-based."""

    def __init__(self, text: str, column: int, reason: str) -> None:
        super().__init__(f"invalid snapshot expression '{text}' at column {column}: {reason}")
        self.text = text
        self.column = column
        self.reason = reason


class NotARepositoryError(KosliError):
    """Not inside a git repository."""


class UnknownRevisionError(KosliError):
    """A commit-ish that does not resolve to a commit."""


class SourceError(KosliError):
    """The snapshot source (embedded store or Kosli) cannot answer."""


class UnknownEnvironmentError(SourceError):
    """No environment of that name."""


class SnapshotNotFoundError(SourceError):
    """The environment exists but has no snapshot matching the expression."""


class StoreConflictError(SourceError):
    """A snapshot number already holds different content."""


class ApiError(SourceError):
    """Kosli answered with an error, or could not be reached after retries."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class OfflineError(SourceError):
    """Offline mode and the cache does not hold what is needed."""


class BisectRefusedError(KosliError):
    """A bisect cannot start or go on; the message says why and what to do."""


class GitCommandError(KosliError):
    """A git subprocess failed where success was expected."""
