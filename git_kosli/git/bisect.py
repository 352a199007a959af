"""git's own bisect, driven through the git binary so its state stays git's.

git kosli's own record of a session is `git_kosli.bisect.state`'s.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from git_kosli.errors import BisectRefusedError, GitCommandError
from git_kosli.git.repository import RepoPaths
from git_kosli.git.run import GitResult, RunningGit, object_name, run_git
from git_kosli.model import CommitSha


def bisect_start_file(paths: RepoPaths) -> Path:
    """`BISECT_START`, which exists exactly while a bisect is in progress in this worktree."""
    return paths.worktree_path("BISECT_START")


def require_no_bisect(paths: RepoPaths) -> None:
    """Refuse when this worktree is already bisecting."""
    start = bisect_start_file(paths)
    if start.exists():
        began_on = start.read_text().strip() or "unknown"
        raise BisectRefusedError(
            f"a bisect is already in progress in this worktree (started on {began_on}); "
            f"end it with 'git bisect reset' or 'git kosli bisect reset' first"
        )


class Starting:
    """`git bisect start` running in the background: git checks out while the caller reads notes."""

    def __init__(self, paths: RepoPaths, args: list[str]) -> None:
        self._paths = paths
        self._running = RunningGit(args, cwd=_top(paths))

    def wait(self) -> GitResult:
        """The output of git once the bisect has started.

        Raises:
            GitCommandError: git refused (for example local changes in the way); it leaves no bisect behind.
        """
        result = self._running.wait(check=False)
        if result.returncode != 0:
            self._end_if_started()
            raise GitCommandError(f"git bisect start failed: {git_words(result)}")
        return result

    def abandon(self) -> None:
        """Wait for git, then end the bisect it started (the caller failed meanwhile)."""
        self._running.wait(check=False)
        self._end_if_started()

    def _end_if_started(self) -> None:
        if bisect_start_file(self._paths).exists():
            reset(self._paths)


def git_words(result: GitResult) -> str:
    """What a failed git bisect said, its lines joined into one, without `error: ` and `fatal: `."""
    lines = (line.strip() for line in (result.stderr or result.stdout).splitlines())
    return " ".join(line.removeprefix("error: ").removeprefix("fatal: ") for line in lines if line)


def begin(
    paths: RepoPaths,
    *,
    bad: str,
    good: str,
    first_parent: bool,
    no_checkout: bool,
    pathspec: Sequence[str],
) -> Starting:
    """Start `git bisect start BAD GOOD` with git's own options; `wait()` for its output, which is not printed."""
    args = ["bisect", "start"]
    args += ["--first-parent"] if first_parent else []
    args += ["--no-checkout"] if no_checkout or paths.bare else []
    args += [object_name(bad), object_name(good), "--", *(_from_top(paths, spec) for spec in pathspec)]
    return Starting(paths, args)


def reset(paths: RepoPaths, commit: str | None = None) -> GitResult:
    """`git bisect reset [COMMIT]`; COMMIT must name a commit (git checks it out with `checkout COMMIT --`)."""
    return run_git(["bisect", "reset", *([commit] if commit else [])], cwd=_top(paths), check=False)


def _top(paths: RepoPaths) -> Path:
    """Git bisect runs only from the top of the working tree (or anywhere in a bare repository)."""
    return paths.toplevel or paths.cwd


def _from_top(paths: RepoPaths, spec: str) -> str:
    """A pathspec typed in a subdirectory, made relative to the top, as git does for its own commands."""
    if paths.toplevel is None or spec.startswith(":"):
        return spec
    prefix = os.path.relpath(paths.cwd, paths.toplevel)
    return spec if prefix == "." else os.path.normpath(os.path.join(prefix, spec))


def mark(paths: RepoPaths, term: str, rev: str) -> GitResult:
    """`git bisect good|bad|skip REV`: git records it (and its log) and checks out its next choice."""
    result = run_git(["bisect", term, object_name(rev)], cwd=_top(paths), check=False)
    if result.returncode != 0:
        raise GitCommandError(f"git bisect {term} {rev[:12]} failed: {git_words(result)}")
    return result


def next_step(paths: RepoPaths) -> GitResult:
    """`git bisect next`: git's own midpoint of what remains, checked out."""
    return run_git(["bisect", "next"], cwd=_top(paths), check=False)


def marks(paths: RepoPaths) -> dict[str, list[CommitSha]]:
    """The commits marked so far: `bad` (one), `good` and `skip` (several)."""
    listed = run_git(["for-each-ref", "--format=%(refname) %(objectname)", "refs/bisect/"], cwd=paths.cwd).stdout
    found: dict[str, list[CommitSha]] = {"bad": [], "good": [], "skip": []}
    for line in listed.splitlines():
        ref, sha = line.split()
        kind = ref.removeprefix("refs/bisect/").split("-", 1)[0]
        if kind in found:
            found[kind].append(CommitSha(sha))
    return found


def remaining(
    paths: RepoPaths,
    *,
    first_parent: bool,
    pathspec: Sequence[str],
    marked: Mapping[str, list[CommitSha]] | None = None,
) -> list[CommitSha]:
    """The commits still in question, children first: reachable from bad, not from any good, not skipped.

    `marked` is what `marks` returned, when the caller has it already.
    """
    marked = marks(paths) if marked is None else marked
    if not marked["bad"]:
        return []
    args = ["rev-list", *(["--first-parent"] if first_parent else []), "--end-of-options", marked["bad"][0]]
    args += [f"^{sha}" for sha in marked["good"]] + ["--", *pathspec]
    skipped = set(marked["skip"])
    return [CommitSha(sha) for sha in run_git(args, cwd=paths.cwd).stdout.split() if sha not in skipped]


def current(paths: RepoPaths) -> CommitSha:
    """The commit under test: BISECT_HEAD when bisecting without checkout, else HEAD."""
    name = "BISECT_HEAD" if paths.worktree_path("BISECT_HEAD").exists() else "HEAD"
    return CommitSha(run_git(["rev-parse", "--verify", name], cwd=paths.cwd).stdout.strip())


def move_to(paths: RepoPaths, sha: str) -> None:
    """Put a commit under test, as git does: move BISECT_HEAD (no checkout) or check it out."""
    if paths.worktree_path("BISECT_HEAD").exists():
        run_git(["update-ref", "--no-deref", "--end-of-options", "BISECT_HEAD", object_name(sha)], cwd=paths.cwd)
        return
    result = run_git(["checkout", "--quiet", object_name(sha), "--"], cwd=_top(paths), check=False)
    if result.returncode != 0:
        raise GitCommandError(f"cannot check out {sha[:12]}: {git_words(result)}")


def count_between(paths: RepoPaths, *, new: str, old: str) -> int:
    """How many commits NEW has that OLD lacks (`git rev-list --count NEW ^OLD`)."""
    args = ["rev-list", "--count", "--end-of-options", object_name(new), f"^{object_name(old)}", "--"]
    return int(run_git(args, cwd=paths.cwd).stdout.strip() or 0)
