"""Bisect over what was deployed first: choose among built commits, then hand the unbuilt span to git.

A built commit can be tested without a build (redeploy its artifact and probe it), so the first
phase proposes only built commits, each time the one that best halves what remains: git's
best-bisection rule (maximise min(ancestors, others) over the remaining candidates), restricted
to built commits. When no built commit is left strictly inside the range, the answer is narrowed
to two consecutive builds and the N unbuilt commits between them: git's own bisect goes on there.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Choice:
    """The built commit to test next, and how evenly it splits what remains."""

    commit: str
    below: int  # remaining candidates it contains (itself included)
    remaining: int


def best_built(
    remaining: Sequence[str], parents: Callable[[str], Sequence[str]], built: Collection[str], *, bad: str
) -> Choice | None:
    """The built commit among `remaining` (children first, as git lists them) that best halves them.

    `bad` is already known bad and never proposed. None when no built commit is left to test.
    """
    testable = [c for c in remaining if c in built and c != bad]
    if not testable:
        return None
    index = {sha: i for i, sha in enumerate(remaining)}
    reach: dict[str, int] = {}
    for sha in reversed(remaining):  # parents before children
        bits = 1 << index[sha]
        for parent in parents(sha):
            bits |= reach.get(parent, 0)
        reach[sha] = bits
    total = len(remaining)
    best: Choice | None = None
    for sha in testable:
        below = reach[sha].bit_count()
        if best is None or min(below, total - below) > min(best.below, total - best.below):
            best = Choice(sha, below, total)
    return best
