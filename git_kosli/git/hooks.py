"""The pre-push hook: its file (installed where git looks, replaced or removed only when ours) and its protocol."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from git_kosli.errors import KosliError
from git_kosli.files import write_atomically

MARKER = "# git-kosli pre-push hook"


def hook_text() -> str:
    """The shim, as shipped in the package (the same file as `hooks/pre-push` in the repository)."""
    return resources.files("git_kosli").joinpath("pre-push").read_text()


def is_ours(path: Path) -> bool:
    """True when the file at `path` is a hook git kosli installed."""
    try:
        return MARKER in path.read_text(errors="replace")
    except OSError:
        return False


def install(hooks_dir: Path, *, force: bool) -> Path:
    """Write the hook, executable; refuse to replace someone else's hook unless forced."""
    path = hooks_dir / "pre-push"
    if path.exists() and not is_ours(path) and not force:
        raise KosliError(f"{path} exists and is not git kosli's; use --force to replace it")
    write_atomically(path, hook_text(), mode=0o755)  # a link to someone's hook is replaced, never written through
    return path


def uninstall(hooks_dir: Path) -> Path | None:
    """Remove the hook if it is ours; returns its path, or None when there was nothing of ours."""
    path = hooks_dir / "pre-push"
    if not path.exists() or not is_ours(path):
        return None
    path.unlink()
    return path


@dataclass(frozen=True)
class PushedRef:
    """One line of what git gives a pre-push hook on stdin."""

    local_ref: str
    local_sha: str
    remote_ref: str
    remote_sha: str

    @property
    def deleted(self) -> bool:
        """A delete: `(delete)` and an all-zero local sha."""
        return is_zero(self.local_sha)


def is_zero(sha: str) -> bool:
    """The all-zero object name git uses for "no object" (40 zeros, or 64 under SHA-256)."""
    return bool(sha) and set(sha) == {"0"}


def parse_push_lines(text: str) -> list[PushedRef]:
    """`<local ref> SP <local sha> SP <remote ref> SP <remote sha> LF` per ref; empty when up to date.

    Lines that do not have four fields are ignored: a hook must never stop a push over its input.
    """
    refs = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 4:
            refs.append(PushedRef(*fields))
    return refs


def pre_commit_refs(environ: Mapping[str, str]) -> list[PushedRef]:
    """The one ref pre-commit passes in PRE_COMMIT_* variables (it consumes git's stdin itself).

    Its `local_sha` may be a ref name: on the first push of a history the remote lacks entirely
    (a new, empty remote), pre-commit runs on all files and sets no PRE_COMMIT_TO_REF, so the local
    branch, else the from ref, stands for what is pushed. The caller resolves it.
    """
    names = ("PRE_COMMIT_TO_REF", "PRE_COMMIT_LOCAL_BRANCH", "PRE_COMMIT_FROM_REF")
    pushed = next((environ[name] for name in names if environ.get(name)), None)
    if pushed is None:
        return []
    return [
        PushedRef(
            environ.get("PRE_COMMIT_LOCAL_BRANCH") or pushed,
            pushed,
            environ.get("PRE_COMMIT_REMOTE_BRANCH", ""),
            environ.get("PRE_COMMIT_FROM_REF", ""),
        )
    ]
