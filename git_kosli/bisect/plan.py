"""Plan a bisect from two snapshots: which artifact changed, its two commits, and every candidate commit.

Everything is checked before anything is changed, so a refusal leaves the
repository exactly as it was.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import NamedTuple

from git_kosli.bisect.state import BisectState, BuildRecord, Phase
from git_kosli.errors import BisectRefusedError
from git_kosli.facts import Build, CommitFacts, commit_facts, episodes_by_commit
from git_kosli.git.history import GitHistory, RangeLog
from git_kosli.model import CommitSha, EnvName, Snapshot, short
from git_kosli.pairing import ArtifactChange, Change, RepoMatcher, diff_snapshots
from git_kosli.snapshot_expr import SnapshotExpr
from git_kosli.sources import Source, load_builds, load_histories


class RepoChange(NamedTuple):
    """An artifact change, with the commits of this repository it was built from (None: another repository)."""

    change: ArtifactChange
    old_commit: CommitSha | None
    new_commit: CommitSha | None

    @property
    def ours(self) -> bool:
        """True when either side was built from this repository."""
        return self.old_commit is not None or self.new_commit is not None

    def commits(self) -> tuple[CommitSha, CommitSha]:
        """(old, new): both built from this repository, as a bisect's target is."""
        assert self.old_commit is not None and self.new_commit is not None
        return self.old_commit, self.new_commit


@dataclass(frozen=True)
class BisectPlan:
    """Everything `git kosli bisect` shows and starts."""

    old: Snapshot
    new: Snapshot
    target: RepoChange
    other_changes: tuple[RepoChange, ...]
    facts: tuple[CommitFacts, ...]  # one per candidate commit, children first
    builds: Mapping[CommitSha, Build]  # the candidates and ends that produced an artifact, deployed or not
    subjects: Callable[[], Mapping[CommitSha, str]]  # still being read by git while the bisect starts

    @property
    def old_commit(self) -> CommitSha:
        """The good end: the commit that ran in the old snapshot."""
        return self.target.commits()[0]

    @property
    def new_commit(self) -> CommitSha:
        """The bad end: the commit that runs in the new snapshot."""
        return self.target.commits()[1]

    def state(self, *, built_first: bool, first_parent: bool, pathspec: Sequence[str]) -> BisectState:
        """What later `git kosli bisect` steps need to know of this session (git keeps the rest)."""
        return BisectState(
            old=str(self.old.ref),
            new=str(self.new.ref),
            artifact=self.target.change.name,
            flow=self.target.change.flow,
            old_commit=self.old_commit,
            new_commit=self.new_commit,
            builds={sha: BuildRecord(b.artifact, b.fingerprint, b.flow, b.display) for sha, b in self.builds.items()},
            phase=Phase.BUILT if built_first else Phase.UNBUILT,
            first_parent=first_parent,
            pathspec=list(pathspec),
        )

    @property
    def steps(self) -> int:
        """Roughly how many tests bisect needs: log2 of the candidates."""
        return math.ceil(math.log2(len(self.facts))) if self.facts else 0


def classify_changes(old: Snapshot, new: Snapshot, matcher: RepoMatcher) -> list[RepoChange]:
    """Every artifact that started, exited or changed, with its commits in this repository."""
    changes = []
    for change in diff_snapshots(old=old, new=new, ours=matcher.flow_of):
        if change.change is Change.UNCHANGED:
            continue
        if change.old is not None and change.new is not None:
            old_commit, new_commit = matcher.commits_of_pair(change.old, change.new)
        else:
            old_commit = matcher.commit_of(change.old) if change.old else None
            new_commit = matcher.commit_of(change.new) if change.new else None
        changes.append(RepoChange(change=change, old_commit=old_commit, new_commit=new_commit))
    return changes


def choose_target(changes: Sequence[RepoChange], artifact: str | None, *, old: Snapshot, new: Snapshot) -> RepoChange:
    """The one changed artifact of this repository to bisect.

    Raises:
        BisectRefusedError: none changed, or several did and `artifact` does not pick one.
    """
    span = f"{old.ref} and {new.ref}"
    bisectable = [c for c in changes if c.change.change is Change.CHANGED and c.old_commit and c.new_commit]
    if artifact is not None:
        picked = [c for c in bisectable if artifact in (c.change.name, c.change.flow)]
        if not picked:
            names = ", ".join(_label(c) for c in bisectable) or "none"
            raise BisectRefusedError(
                f"no artifact '{artifact}' of this repository changed between {span} (changed here: {names})"
            )
        bisectable = picked
    if not bisectable:
        raise BisectRefusedError(f"no artifact of this repository changed between {span}{_describe(changes)}")
    if len(bisectable) > 1:
        names = ", ".join(_label(c) for c in bisectable)
        raise BisectRefusedError(
            f"{len(bisectable)} artifacts of this repository changed between {span}: {names}; "
            f"choose one with --artifact NAME"
        )
    return bisectable[0]


def _label(change: RepoChange) -> str:
    return change.change.flow or change.change.name


def _describe(changes: Sequence[RepoChange]) -> str:
    if not changes:
        return " (the two snapshots run the same artifacts)"
    parts = [f"{_label(c)} {c.change.change.value}{'' if c.ours else ' (another repository)'}" for c in changes]
    return f" ({'; '.join(parts)})"


def require_bisectable(target: RepoChange, history: GitHistory, *, old: Snapshot, new: Snapshot) -> Callable[[], None]:
    """Refuse, naming the snapshot and commit, when the two ends cannot be bisected here.

    What needs no git is refused at once; whether NEW descends from OLD is asked of git in the
    background, and the returned call waits for the answer (refusing a rollback or diverged ends),
    so the caller can start other work in between.
    """
    old_commit, new_commit = target.commits()
    name = _label(target)
    for snapshot, commit in ((old, old_commit), (new, new_commit)):
        if not history.has_commit(commit):
            fetch = "git fetch --unshallow" if history.paths.shallow else "git fetch"
            raise BisectRefusedError(
                f"commit {commit} ({name} in {snapshot.ref}) is not in this repository",
                hints=[f"fetch it, then try again: {fetch}"],
            )
    if old_commit == new_commit:
        raise BisectRefusedError(
            f"{name} in {old.ref} and {new.ref} was built from the same commit {short(old_commit)}: "
            f"no commits to bisect"
        )
    descends = history.asking_is_ancestor(ancestor=old_commit, descendant=new_commit)

    def confirm() -> None:
        if not descends():
            _refuse_unordered(target, history, old=old, new=new)

    return confirm


def _refuse_unordered(target: RepoChange, history: GitHistory, *, old: Snapshot, new: Snapshot) -> None:
    """NEW does not descend from OLD: say whether it is a rollback or the histories diverged."""
    old_commit, new_commit = target.commits()
    name = _label(target)
    if history.is_ancestor(ancestor=new_commit, descendant=old_commit):
        raise BisectRefusedError(
            f"{new.ref} runs an older commit of {name} than {old.ref} ({short(new_commit)} is an ancestor of "
            f"{short(old_commit)}): a rollback, so no commit in between was introduced"
        )
    raise BisectRefusedError(
        f"{name} in {new.ref} ({short(new_commit)}) does not descend from {old.ref} "
        f"({short(old_commit)}): the histories diverged, so there is no range to bisect"
    )


def annotate(
    listing: RangeLog,
    history: GitHistory,
    ends: tuple[CommitSha, CommitSha],
    histories: Mapping[EnvName, list[Snapshot]],
    known: Mapping[CommitSha, Build],
    matcher: RepoMatcher,
    *,
    whole_range: bool = False,
) -> list[CommitFacts]:
    """Deployment facts for the candidates of a range (children first, as git lists them).

    The first build of a candidate may be a build outside the range (a branch built from it and
    not merged by NEW): such builds, when created before NEW's, are walked down to the range too.
    `whole_range` (paths or --first-parent limit git's listing) walks all of the range for the facts.
    """
    good, bad = ends
    episodes = episodes_by_commit(histories.values(), matcher.provenance_of)
    candidates = listing.parents()  # waits for git, which listed the range while the episodes were worked out
    latest = known[bad].created_at if bad in known else float("inf")
    early = [sha for sha, b in known.items() if b.created_at <= latest and sha not in candidates and sha != good]
    if all(candidates.values()):  # no root commit in the range: nothing in it is older than its boundary
        boundary = {p for parents in candidates.values() for p in parents if p not in candidates}
        early = [CommitSha(sha) for sha in history.above(early, boundary)]
    if not early and not whole_range:
        return list(commit_facts(candidates.items(), episodes, known))
    walked = (
        history.ancestry([bad, *early], exclude=[good])
        if whole_range
        else chain(history.ancestry(early, exclude=[good, bad]), candidates.items())
    )
    facts = {f.commit: f for f in commit_facts(walked, episodes, known)}
    return [facts[sha] for sha in candidates]


class BisectEnds(NamedTuple):
    """What a bisect runs between, checked, with what its plan still needs: git's listing, and the histories."""

    old: Snapshot
    new: Snapshot
    target: RepoChange
    other_changes: tuple[RepoChange, ...]
    listing: RangeLog  # of the range, still being made by git
    source: Source  # where the plan reads every history and build, while git starts the bisect
    histories: Mapping[EnvName, list[Snapshot]] | None  # read already when choosing the target needed them
    matcher: RepoMatcher


def bisect_ends(
    *,
    source: Source,
    history: GitHistory,
    matcher: RepoMatcher,
    old_expr: SnapshotExpr,
    new_expr: SnapshotExpr,
    artifact: str | None,
    first_parent: bool,
    pathspec: Sequence[str],
) -> BisectEnds:
    """Everything that can refuse, changing nothing: both snapshots, the artifact, its commits, NEW descending from OLD.

    What is left to plan (`plan_bisect`: every history and build, read locally, and the facts) is
    worked out while git starts the bisect, which is ended again if that fails.

    Raises:
        BisectRefusedError: when there is nothing of this repository to bisect between the two.
        SourceError: when a snapshot or a history cannot be read.
    """
    old, new = source.resolve_all([old_expr, new_expr])
    changes = classify_changes(old, new, matcher)
    histories: dict[EnvName, list[Snapshot]] | None = None
    try:
        target = choose_target(changes, artifact, old=old, new=new)
    except BisectRefusedError:  # perhaps neither commit is fetched here: the histories tell this repository's flows
        histories = load_histories(source, [])
        learned = matcher.learning(a for h in histories.values() for s in h for a in s.artifacts)
        if learned is matcher:
            raise
        matcher, changes = learned, classify_changes(old, new, learned)
        target = choose_target(changes, artifact, old=old, new=new)
    confirm = require_bisectable(target, history, old=old, new=new)
    good, bad = target.commits()
    listing = history.log_range(include=bad, exclude=good, first_parent=first_parent, pathspec=pathspec)
    confirm()
    others = tuple(c for c in changes if c is not target)
    return BisectEnds(old, new, target, others, listing, source, histories, matcher)


def plan_bisect(ends: BisectEnds, history: GitHistory, *, whole_range: bool = False) -> BisectPlan:
    """The candidates, each with its deployments, worked out from every history and build (and git's listing).

    `whole_range`: paths or --first-parent limit git's listing, so the facts are worked out over all of the range.
    """
    histories = ends.histories if ends.histories is not None else load_histories(ends.source, [])
    matcher = ends.matcher.learning(a for h in histories.values() for s in h for a in s.artifacts)
    builds = load_builds(ends.source, histories, matcher)
    known = {sha: b for sha, b in builds.items() if history.has_commit(sha)}
    commits = ends.target.commits()
    facts = annotate(ends.listing, history, commits, histories, known, matcher, whole_range=whole_range)
    in_range = {*(f.commit for f in facts), commits[0]}
    return BisectPlan(
        old=ends.old,
        new=ends.new,
        target=ends.target,
        other_changes=ends.other_changes,
        facts=tuple(facts),
        builds={sha: b for sha, b in known.items() if sha in in_range},
        subjects=ends.listing.subjects,
    )
