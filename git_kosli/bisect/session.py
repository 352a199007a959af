"""A bisect session after `git kosli bisect start`: marks through git, built commits first, `run`.

git keeps the bisect (refs/bisect/*, BISECT_LOG); this module keeps only what git cannot know,
in the per-worktree state file: the builds in the range, the phase, the options of the start.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from git_kosli.bisect.built_first import best_built
from git_kosli.bisect.state import BuildRecord, Phase, load_or_none, save
from git_kosli.errors import BisectRefusedError
from git_kosli.git import bisect as git_bisect
from git_kosli.git.repository import RepoPaths
from git_kosli.model import CommitSha

_SHA = r"[0-9a-f]{40}|[0-9a-f]{64}"  # SHA-1, or SHA-256 (`git init --object-format=sha256`)
FIRST_BAD = re.compile(rf"^({_SHA}) is the first bad commit", re.MULTILINE)
ONLY_SKIPPED = "There are only 'skip'ped commits left to test."


@dataclass(frozen=True)
class Span:
    """The end of the built phase: the last good build, the first bad build and the commits between."""

    good_build: str | None
    bad_build: str
    unbuilt: int


@dataclass(frozen=True)
class Position:
    """Where the session stands: the phase, the commit under test, and the span once narrowed."""

    phase: Phase
    commit: CommitSha
    remaining: int
    span: Span | None = None


@dataclass
class Outcome:
    """How a `run` ended: the culprit, or the span git could not narrow (only skipped commits left)."""

    culprit: CommitSha | None
    suspects: list[CommitSha]
    steps: dict[Phase, int] = field(default_factory=lambda: {Phase.BUILT: 0, Phase.UNBUILT: 0})
    span: Span | None = None
    log: list[tuple[Phase, str, str]] = field(default_factory=list)  # (phase, commit, verdict)


class Session:
    """The bisect in progress in one worktree, as git kosli started it."""

    def __init__(self, paths: RepoPaths, parents: Callable[[str], Sequence[str]]) -> None:
        state = load_or_none(paths)
        if state is None:
            raise BisectRefusedError("no git kosli bisect in progress here; start one with 'git kosli bisect OLD NEW'")
        self.paths = paths
        self.state = state
        self._parents = parents

    @property
    def builds(self) -> Mapping[str, BuildRecord]:
        """Built commits of the range (and its ends): sha -> artifact, fingerprint, flow."""
        return self.state.builds

    @property
    def phase(self) -> Phase:
        """`built` while built commits are proposed, then `unbuilt` (git's own bisect)."""
        return self.state.phase

    def remaining(self, marks: Mapping[str, list[CommitSha]] | None = None) -> list[CommitSha]:
        """Commits still in question, children first (`marks`: git's marks, when already read)."""
        return git_bisect.remaining(
            self.paths,
            first_parent=self.state.first_parent,
            pathspec=self.state.pathspec,
            marked=marks,
        )

    def advance(self) -> Position:
        """Put the next commit under test: the best built one while any is left, else git's own choice."""
        marks = git_bisect.marks(self.paths)
        remaining = self.remaining(marks)
        bad = marks["bad"][0]
        if self.phase is Phase.BUILT:
            choice = best_built(remaining, self._parents, self.builds, bad=bad)
            if choice is not None:
                git_bisect.move_to(self.paths, choice.commit)
                return Position(Phase.BUILT, CommitSha(choice.commit), len(remaining))
            self.state.phase = Phase.UNBUILT
            save(self.paths, self.state)
            span = self.span(remaining, bad, marks["good"])
            if remaining == [bad]:  # consecutive builds: nothing left to test
                return Position(Phase.DONE, bad, 1, span)
            git_bisect.next_step(self.paths)
            return Position(Phase.UNBUILT, git_bisect.current(self.paths), len(remaining), span)
        if remaining == [bad]:
            return Position(Phase.DONE, bad, 1)
        return Position(Phase.UNBUILT, git_bisect.current(self.paths), len(remaining))

    def span(self, remaining: Sequence[str], bad: str, good: Sequence[str]) -> Span:
        """The two consecutive builds the built phase narrowed the answer to (`good`: the commits marked good)."""
        goods = [g for g in good if g in self.builds]
        closest = min(goods, key=lambda g: git_bisect.count_between(self.paths, new=bad, old=g), default=None)
        return Span(good_build=closest, bad_build=bad, unbuilt=max(0, len(remaining) - 1))

    def mark(self, verdict: str, commit: str) -> str:
        """Mark through git; returns git's output (which names the first bad commit when found)."""
        return git_bisect.mark(self.paths, verdict, commit).stdout

    def verify(self, command: Sequence[str], *, deployed: bool) -> None:
        """Run the command on the old and the new end first; refuse unless old is good and new is bad."""
        for end, commit, snapshot, wanted in (
            ("old", self.state.old_commit, self.state.old, "good"),
            ("new", self.state.new_commit, self.state.new, "bad"),
        ):
            use_artifact = deployed and commit in self.builds
            if not use_artifact:
                git_bisect.move_to(self.paths, commit)
            verdict = self._test(command, commit, deployed=use_artifact)
            if verdict != wanted:
                raise BisectRefusedError(
                    f"--verify: the {end} end {commit[:12]} ({snapshot}) is {verdict}, not {wanted}, "
                    f"by '{' '.join(command)}'; nothing was marked"
                )

    def run(
        self,
        command: Sequence[str],
        *,
        deployed: bool,
        on_step: Callable[[Phase, str, str], None],
        on_span: Callable[[Span], None] = lambda span: None,
        verify: bool = False,
    ) -> Outcome:
        """`git bisect run` with built commits first; `deployed` hands the command the artifact instead.

        The command's exit code says: 0 good, 125 skip, 1-127 bad, 128 and above stops the run.
        """
        if verify:
            self.verify(command, deployed=deployed)
        outcome = Outcome(culprit=None, suspects=[])
        position = self.advance()
        outcome.span = position.span
        if position.span is not None:
            on_span(position.span)
        while True:
            if position.phase is Phase.DONE:
                outcome.culprit = position.commit
                return outcome
            verdict = self._test(command, position.commit, deployed=deployed and position.phase is Phase.BUILT)
            outcome.steps[position.phase] += 1
            outcome.log.append((position.phase, position.commit, verdict))
            on_step(position.phase, position.commit, verdict)
            said = self.mark(verdict, position.commit)
            found = FIRST_BAD.search(said)
            if found:
                outcome.culprit = CommitSha(found.group(1))
                return outcome
            if ONLY_SKIPPED in said:
                outcome.suspects = [CommitSha(s) for s in re.findall(rf"^({_SHA})$", said, re.MULTILINE)]
                return outcome
            position = self.advance()
            if position.span is not None:
                outcome.span = position.span
                on_span(position.span)

    def _test(self, command: Sequence[str], commit: str, *, deployed: bool) -> str:
        """good, bad or skip, from the command's exit code; 128 and above stops everything."""
        env = dict(os.environ)
        if deployed:
            env.update(artifact_environment(commit, self.builds[commit]))
        folder = self.paths.toplevel or self.paths.cwd
        code = subprocess.run(list(command), cwd=folder, env=env, check=False).returncode
        if code >= 128 or code < 0:
            raise BisectRefusedError(
                f"bisect run stopped: '{' '.join(command)}' exited with {code} on {commit[:12]} "
                f"(128 or more aborts, as in git bisect run); the bisect is left as it is"
            )
        return "good" if code == 0 else "skip" if code == 125 else "bad"


def artifact_environment(commit: str, build: BuildRecord) -> dict[str, str]:
    """What `run --deployed` tells the command about the artifact to deploy and probe."""
    return {
        "KOSLI_ARTIFACT_NAME": build.artifact,
        "KOSLI_FINGERPRINT": build.fingerprint,
        "KOSLI_FLOW": build.flow or "",
        "KOSLI_GIT_COMMIT": commit,
    }
