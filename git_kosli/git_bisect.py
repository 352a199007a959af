"""git's own bisect, driven through the git binary so its state stays git's.

git kosli's extra facts about a session live beside git's, under
`git rev-parse --git-path kosli/bisect.json` (per worktree, as git's state is).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from git_kosli.errors import BisectRefusedError, GitCommandError
from git_kosli.gitcmd import GitResult, RepoPaths, run_git


def bisect_start_file(paths: RepoPaths) -> Path:
    """`BISECT_START`, which exists exactly while a bisect is in progress in this worktree."""
    return paths.git_path("BISECT_START")


def require_no_bisect(paths: RepoPaths) -> None:
    """Refuse when this worktree is already bisecting."""
    start = bisect_start_file(paths)
    if start.exists():
        began_on = start.read_text().strip() or "unknown"
        raise BisectRefusedError(
            f"a bisect is already in progress in this worktree (started on {began_on}); "
            f"end it with 'git bisect reset' or 'git kosli bisect reset' first"
        )


def start(
    paths: RepoPaths,
    *,
    bad: str,
    good: str,
    first_parent: bool,
    no_checkout: bool,
    pathspec: Sequence[str],
) -> GitResult:
    """`git bisect start BAD GOOD`, with git's own options; git's output is returned, not printed.

    Raises:
        GitCommandError: git refused (for example local changes in the way); it leaves no bisect behind.
    """
    args = ["bisect", "start"]
    args += ["--first-parent"] if first_parent else []
    args += ["--no-checkout"] if no_checkout or paths.bare else []
    args += [bad, good, "--", *pathspec]
    result = run_git(args, cwd=paths.cwd, check=False)
    if result.returncode != 0:
        if bisect_start_file(paths).exists():
            run_git(["bisect", "reset"], cwd=paths.cwd, check=False)
        raise GitCommandError(f"git bisect start failed: {(result.stderr or result.stdout).strip()}")
    return result


def reset(paths: RepoPaths) -> GitResult:
    """`git bisect reset`, and forget our own state."""
    state_file(paths).unlink(missing_ok=True)
    return run_git(["bisect", "reset"], cwd=paths.cwd, check=False)


def state_file(paths: RepoPaths) -> Path:
    """Our per-worktree bisect state."""
    return paths.git_path("kosli/bisect.json")


def save_state(paths: RepoPaths, state: Mapping[str, Any]) -> None:
    """Write our session facts atomically."""
    path = state_file(paths)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=2) + "\n")
    temporary.replace(path)
