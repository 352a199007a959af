"""The pre-push hook file: one text, installed where git looks, and only ever replaced or removed when it is ours."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from git_kosli.errors import KosliError

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
    hooks_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(hook_text())
    path.chmod(0o755)
    return path


def uninstall(hooks_dir: Path) -> Path | None:
    """Remove the hook if it is ours; returns its path, or None when there was nothing of ours."""
    path = hooks_dir / "pre-push"
    if not path.exists() or not is_ours(path):
        return None
    path.unlink()
    return path
