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
    """The built commit among `remaining` (in git's order) that best halves them.

    `bad` is already known bad and never proposed. None when no built commit is left to test.
    Ties go to the first in `remaining`'s order. That order need not be topological: plain
    `git rev-list` orders by commit date, and a commit dated before its parent (a rebase, a
    wrong clock) comes after it; each commit's ancestors are counted over its parents anyway.
    """
    testable = [c for c in remaining if c in built and c != bad]
    if not testable:
        return None
    index = {sha: i for i, sha in enumerate(remaining)}
    inside = {sha: [p for p in parents(sha) if p in index] for sha in remaining}
    reach: dict[str, int] = {}
    for start in remaining:  # depth first, parents before children, whatever the listing's order
        stack = [(start, False)]
        while stack:
            sha, ready = stack.pop()
            if sha in reach:
                continue
            if not ready:
                stack.append((sha, True))
                stack.extend((p, False) for p in inside[sha] if p not in reach)
                continue
            bits = 1 << index[sha]
            for parent in inside[sha]:
                bits |= reach[parent]
            reach[sha] = bits
    total = len(remaining)
    best: Choice | None = None
    for sha in testable:
        below = reach[sha].bit_count()
        if best is None or min(below, total - below) > min(best.below, total - best.below):
            best = Choice(sha, below, total)
    return best
