"""Read-only access to commit history: parents, ancestry, ranges and subjects.

Walks read the commit-graph row by row when the repository has one (a single file or a
split chain, as git does), else commit objects, through dulwich, for the commits the graph
lacks; git itself lists ranges and subjects. Every walk is one skeleton (`_paint`): bits
painted down from the commits asked about, in generation order where the graph gives one.
No walk trusts commit dates to stop: without generation numbers it stops only where that
is exact whatever the dates (or asks git). "Not found" answers are None or
False, never exceptions. Revisions typed by users go through `git rev-parse`, so
every form git accepts works here too.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from git_kosli.git.commit_graph import INFINITY, open_commit_graph
from git_kosli.git.count_memo import CountMemo, memo_path
from git_kosli.git.repository import RepoPaths
from git_kosli.git.run import ObjectTypes, RunningGit, object_name, run_git, stream_git
from git_kosli.model import CommitSha, Divergence, clean_text, commit_sha_or_none

if TYPE_CHECKING:
    from dulwich.repo import Repo


class RangeLog:
    """The commits of a range, listed by git in the background (see `GitHistory.log_range`)."""

    def __init__(self, shape: RunningGit, subjects: RunningGit, *, shape_formatted: bool) -> None:
        self._shape = shape
        self._subjects = subjects
        self._shape_formatted = shape_formatted  # `--format=%H %P` (a `commit SHA` line before each) or `--parents`

    def parents(self) -> dict[CommitSha, tuple[str, ...]]:
        """Each commit of the range with its parents, children before parents; waits for git."""
        found = {}
        listed = _formatted(self._shape) if self._shape_formatted else self._shape.wait().stdout.splitlines()
        for line in listed:
            sha, *parents = line.split(" ")
            found[CommitSha(sha)] = tuple(parents)
        return found

    def subjects(self) -> dict[CommitSha, str]:
        """The first line of each commit's message; waits for git."""
        lines = _formatted(self._subjects)
        return {CommitSha(sha): clean_text(subject) for sha, _, subject in (line.partition("\0") for line in lines)}


def _formatted(listing: RunningGit) -> list[str]:
    """The formatted lines of `rev-list --format` (each comes after a `commit SHA` line of its own)."""
    return listing.wait().stdout.split("\n")[1::2]


_NEW = 1
_OLD = 2
_BELOW = 1  # `containing`: the target and its ancestors, which cannot lead to it
_COUNTING_AT_ONCE = 8  # git processes counting at a time
# How far a pair's walk may go before git is asked instead (README, Performance: measured on git.git).
_WALK_BUDGET = 1024  # commits: about 3 ms of walking, what git takes to start and count a few commits
_WALK_PER_GENERATION = 2  # and at most this many commits per generation between the pair's ends,
_WALK_SLACK = 128  # plus these


def _final(mask: int) -> int:
    """A walked commit's mask, whether it was popped (stored inverted) or is still queued."""
    return ~mask if mask < 0 else mask


class _Walks:
    """How one command's counting walks went: once they gave up two more times than they counted, walking stops.

    On a history of long-lived branches (git.git's topics) every pair's walk gives up; this keeps
    the waste to two short walks, while a history of short branches keeps walking every pair.
    """

    __slots__ = ("counted", "gave_up")

    def __init__(self) -> None:
        self.counted = 0
        self.gave_up = 0

    @property
    def worth_trying(self) -> bool:
        """Whether the next pair is walked at all."""
        return self.gave_up <= self.counted + 1


def _collect(
    pair: tuple[CommitSha, CommitSha], listing: RunningGit, counts: dict[tuple[CommitSha, CommitSha], Divergence]
) -> None:
    """Wait for a `rev-list --count --left-right` and keep its two counts."""
    old_only, new_only = listing.wait().stdout.split()
    counts[pair] = Divergence(old_only=int(old_only), new_only=int(new_only))


def _symmetric(old: str, new: str) -> list[str]:
    """`OLD...NEW` as the one revision after `--end-of-options`."""
    return ["--end-of-options", f"{object_name(old)}...{object_name(new)}", "--"]


class GitHistory:
    """Commits, parents and ancestry of one repository, with one walk per question asked."""

    def __init__(self, paths: RepoPaths) -> None:
        self.paths = paths
        self._opened: Repo | None = None
        self._graph = open_commit_graph(paths.common_dir / "objects")
        shallow = paths.common_dir / "shallow"
        self._shallow = set(shallow.read_text().split()) if shallow.is_file() else set()
        self._memo = None if self._shallow else CountMemo(memo_path(paths.common_dir))  # a shallow clone's counts grow
        # Walks number commits: a commit-graph row (0 and up), or a negative number for a commit the graph lacks.
        self._outside: dict[str, int] = {}
        self._outside_shas: list[str] = []
        self._outside_records: dict[int, tuple[tuple[int, ...], int, int]] = {}
        self._types = ObjectTypes(paths.cwd)

    @property
    def _repo(self) -> Repo:
        """The dulwich repository, opened only when the commit-graph cannot answer (it costs ~0.1 s to import)."""
        if self._opened is None:
            from dulwich.repo import Repo

            self._opened = Repo(str(self.paths.common_dir))
        return self._opened

    def __enter__(self) -> GitHistory:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the repository's open files (dulwich warns at exit otherwise)."""
        self._types.close()
        if self._opened is not None:
            self._opened.close()
        if self._graph is not None:
            self._graph.close()

    @property
    def uses_commit_graph(self) -> bool:
        """True when walks read parents and generations from the commit-graph file."""
        return self._graph is not None

    def resolve_or_none(self, commitish: str) -> CommitSha | None:
        """The commit a revision names (`HEAD~2`, a tag, a short sha), or None."""
        result = run_git(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{commitish}^{{commit}}"],
            cwd=self.paths.cwd,
            check=False,
        )
        return commit_sha_or_none(result.stdout.strip()) if result.returncode == 0 else None

    def ref_names(self) -> list[str]:
        """HEAD and the branch and tag names, for completing revisions."""
        listed = run_git(["for-each-ref", "--format=%(refname:short)", "refs/heads/", "refs/tags/"], cwd=self.paths.cwd)
        return ["HEAD", *listed.stdout.split()]

    def commits_of_range_or_none(self, revisions: str) -> set[CommitSha] | None:
        """The commits of a revision range (`main~5..main`, `v1..v2`) as `git rev-list` lists them; None when invalid.

        The range reaches git after `--end-of-options`: text like `--output=FILE` is a revision, never an option.
        """
        listed = run_git(["rev-list", "--end-of-options", revisions, "--"], cwd=self.paths.cwd, check=False)
        return {CommitSha(sha) for sha in listed.stdout.split()} if listed.returncode == 0 else None

    def has_commit(self, sha: str) -> bool:
        """True when the commit's object is in this repository (not beyond a shallow boundary)."""
        if self._graph is not None and self._graph.position(sha) is not None:
            return True
        return self._types.type_of(sha) == "commit"  # newer than the commit-graph, or there is none

    def subjects(self, shas: Iterable[str]) -> dict[CommitSha, str]:
        """The first line of each commit's message, from one `git log` (thousands of commits in milliseconds).

        Without control characters: a subject is someone else's text on your terminal.
        """
        wanted = [object_name(sha) for sha in dict.fromkeys(shas)]  # a line of `--stdin` may be an option
        if not wanted:
            return {}
        out = run_git(
            ["log", "--no-walk=unsorted", "--stdin", "--format=%H%x00%s"], cwd=self.paths.cwd, stdin="\n".join(wanted)
        ).stdout
        found = dict(line.split("\0", 1) for line in out.splitlines() if "\0" in line)
        return {CommitSha(sha): clean_text(found.get(sha, "")) for sha in wanted}

    def log_lines(self, *, include: str, exclude: str) -> list[tuple[CommitSha, str]]:
        """The commits INCLUDE has that EXCLUDE lacks, children first, each with its subject."""
        commits = self.exclusive(include=[include], exclude=[exclude])
        subjects = self.subjects(commits)
        return [(sha, subjects[sha]) for sha in commits]

    def log_range(
        self, *, include: str, exclude: str, first_parent: bool = False, pathspec: Sequence[str] = ()
    ) -> RangeLog:
        """Start listing `INCLUDE ^EXCLUDE` (parents and subjects too) in the background, as git bisect sees it.

        git's own walk, from the commit-graph, also gives exactly git's candidates when paths
        limit the range (TREESAME merges). Two processes: the parents come from the
        commit-graph in milliseconds, while subjects need every commit object read, which the
        second one does while the caller works out deployments, notes and the bisect itself.
        Parents are the commits' own, not rewritten by the paths.
        """
        walk = ["rev-list", "--date-order", *(["--first-parent"] if first_parent else [])]
        ends = ["--end-of-options", object_name(include), f"^{object_name(exclude)}", "--", *pathspec]
        rewritten = first_parent or bool(pathspec)  # `--parents` would give the parents as rewritten by these
        shape = "--format=%H %P" if rewritten else "--parents"  # `--parents` reads only the commit-graph: 2-3x faster
        return RangeLog(
            RunningGit([*walk, shape, *ends], cwd=self.paths.cwd),
            RunningGit([*walk, "--format=%H%x00%s", *ends], cwd=self.paths.cwd),
            shape_formatted=rewritten,
        )

    def ancestry(
        self, tips: Iterable[str], *, exclude: Iterable[str] = ()
    ) -> Iterator[tuple[CommitSha, tuple[str, ...]]]:
        """Every commit the tips contain (and `exclude` do not), with its parents, children first: streamed from git.

        A whole history (`git kosli notes` at a million commits) never sits in memory: git walks
        it from the commit-graph, in C, and each commit is handed on as it comes.
        """
        lines = [*(f"{object_name(tip)}\n" for tip in tips), *(f"^{object_name(sha)}\n" for sha in exclude)]
        listed = stream_git(
            ["rev-list", "--topo-order", "--parents", "--stdin"],
            cwd=self.paths.cwd,
            separator="\n",
            stdin="".join(lines),  # full object ids only: a line of `--stdin` may be an option
        )
        for line in listed:
            sha, *parents = line.split(" ")
            yield CommitSha(sha), tuple(parents)

    def above(self, shas: Iterable[str], floor: Iterable[str]) -> list[str]:
        """The commits of `shas` that may descend from a commit above `floor`: by generation number, a cheap filter.

        A commit whose generation is not above the lowest of `floor`'s cannot descend from anything
        above it. Without generation numbers (no commit-graph, a shallow clone, a commit newer than
        the graph) a commit is kept: the filter may keep too much, never drop too much.
        """
        graph = self._graph
        wanted = list(shas)
        rows = [graph.position(sha) for sha in floor] if graph is not None and not self._shallow else [None]
        if graph is None or not rows or None in rows:
            return wanted
        lowest = min(graph.record(row)[1] for row in rows if row is not None)
        kept = []
        for sha in wanted:
            row = graph.position(sha)
            if row is None or graph.record(row)[1] > lowest:
                kept.append(sha)
        return kept

    def parents(self, sha: str) -> list[str]:
        """The commit's parents (none beyond a shallow boundary)."""
        return [self._sha(parent) for parent in self._record(self._node(sha))[0]]

    def _node(self, sha: str) -> int:
        """The number walks know a commit by."""
        if self._graph is not None:
            row = self._graph.position(sha)
            if row is not None:
                return row
        node = self._outside.get(sha)
        if node is None:
            node = self._outside[sha] = -1 - len(self._outside_shas)
            self._outside_shas.append(sha)
        return node

    def _sha(self, node: int) -> str:
        if node >= 0:
            assert self._graph is not None
            return self._graph.sha_at(node)
        return self._outside_shas[-1 - node]

    def _record(self, node: int) -> tuple[tuple[int, ...], int, int]:
        """Parents (as numbers), generation and commit time; a commit the graph lacks sorts after all it holds."""
        if node >= 0:
            assert self._graph is not None
            record = self._graph.record(node)
        else:
            record = self._outside_records.get(node) or self._read_outside(node)
        if self._shallow and self._sha(node) in self._shallow:
            return (), record[1], record[2]
        return record

    def _read_outside(self, node: int) -> tuple[tuple[int, ...], int, int]:
        commit = self._repo.object_store[self._sha(node).encode()]  # type: ignore[index]
        parents = tuple(self._node(p.decode()) for p in commit.parents)  # type: ignore[attr-defined]
        record = self._outside_records[node] = (parents, INFINITY, commit.commit_time)  # type: ignore[attr-defined]
        return record

    def exclusive(
        self, *, include: Sequence[str], exclude: Sequence[str], first_parent: bool = False
    ) -> list[CommitSha]:
        """`git rev-list INCLUDE --not EXCLUDE`: children before parents.

        On commit-graph rows, one walk from both sides at once, in generation order, stopping as
        soon as everything still queued is reachable from EXCLUDE: the cost follows the range, not
        the whole history. Without generation numbers for them (no graph, or commits newer than
        it) no early stop is exact, so git itself lists them.
        """
        rows = self._rows(*include, *exclude)
        if rows is None:
            return self._exclusive_by_git(include=include, exclude=exclude, first_parent=first_parent)
        starts = [(row, _OLD) for row in rows[len(include) :]] + [(row, _NEW) for row in rows[: len(include)]]
        order: list[int] = []
        masks: list[int] = []
        self._paint(starts, stale=_OLD, first_parent=first_parent, order=order, masks=masks)
        return [CommitSha(self._sha(node)) for node, mask in zip(order, masks, strict=True) if mask == _NEW]

    def _exclusive_by_git(
        self, *, include: Sequence[str], exclude: Sequence[str], first_parent: bool
    ) -> list[CommitSha]:
        names = [*map(object_name, include), *(f"^{object_name(sha)}" for sha in exclude)]  # no line an option
        listed = run_git(
            ["rev-list", *(["--first-parent"] if first_parent else []), "--stdin", "--"],
            cwd=self.paths.cwd,
            stdin="".join(f"{name}\n" for name in names),
        )
        return [CommitSha(sha) for sha in listed.stdout.split()]

    def containing(self, target: str, tips: Iterable[str]) -> set[CommitSha]:
        """Which of `tips` contain `target` (are it, or descend from it): one walk for all of them.

        Each tip carries a bit; a commit's mask is the OR of the masks of the tips that reach it.
        The target carries a bit of its own that marks its ancestors, which cannot lead back to
        it: the walk ends when every queued commit is one of them (or, with generation numbers,
        when the target is reached or nothing queued is above its generation). No commit dates
        are trusted: a descendant dated before its ancestor is still found. On commit-graph rows
        the walk covers the commits between the tips and the target, a few microseconds each.
        """
        tip_list = [t for t in dict.fromkeys(tips) if self.has_commit(t)]
        if not tip_list or not self.has_commit(target):
            return set()
        goal = self._node(target)
        generation = self._record(goal)[1]
        starts = [(goal, _BELOW)] + [(self._node(tip), 2 << bit) for bit, tip in enumerate(tip_list)]
        floor = generation if generation < INFINITY else INFINITY - 1  # nothing at or below it can lead to the target
        mask = self._paint(starts, stale=_BELOW, floor=floor, goal=goal)
        assert mask is not None
        return {CommitSha(t) for bit, t in enumerate(tip_list) if mask & (2 << bit)}

    def divergences(
        self, pairs: Iterable[tuple[CommitSha, CommitSha]]
    ) -> dict[tuple[CommitSha, CommitSha], Divergence]:
        """For each pair (OLD, NEW): the commits only OLD has, and those only NEW has.

        A pair whose walk stays near its ends (one deploy to the next on a history of short
        branches) is counted here, on commit-graph rows, in well under a millisecond. Any other
        (far apart, a long-lived branch to paint down, or not in the commit-graph) goes to git
        (`rev-list --count --left-right OLD...NEW`), started as soon as that is known, so git
        counts on one core while the next pairs are walked on the other.
        """
        counts: dict[tuple[CommitSha, CommitSha], Divergence] = {}
        by_git: dict[tuple[CommitSha, CommitSha], Divergence] = {}
        running: list[tuple[tuple[CommitSha, CommitSha], RunningGit]] = []
        walks = _Walks()
        for pair in dict.fromkeys(pairs):
            counted = self._counted_before(pair) or self._count_sides(*pair, walks=walks) or self._count_on_top(*pair)
            if counted is not None:
                counts[pair] = counted
                continue
            if len(running) == _COUNTING_AT_ONCE:
                _collect(*running.pop(0), by_git)
            args = ["rev-list", "--count", "--left-right", *_symmetric(*pair)]
            running.append((pair, RunningGit(args, cwd=self.paths.cwd)))
        for pair, listing in running:
            _collect(pair, listing, by_git)
        if self._memo and by_git:
            self._memo.add(by_git)
        return counts | by_git

    def _counted_before(self, pair: tuple[CommitSha, CommitSha]) -> Divergence | None:
        return self._memo.get(pair) if self._memo else None

    def _count_on_top(self, old: CommitSha, new: CommitSha) -> Divergence | None:
        """OLD against NEW from a count git made of OLD against a commit of NEW's ancestry: what a push adds is near.

        When OLD is in BASE's ancestry and BASE in NEW's, the commits only NEW has are those only
        BASE has plus those NEW has above BASE (a short walk), and OLD has none of its own.
        """
        if self._memo is None:
            return None
        for base, base_only in self._memo.descendants(old):
            above = self._count_sides(base, new, walks=_Walks())
            if above is not None and above.old_only == 0:
                return Divergence(old_only=0, new_only=base_only + above.new_only)
        return None

    def _count_sides(self, old: str, new: str, *, walks: _Walks) -> Divergence | None:
        """The commits only OLD has and only NEW has, walking the commit-graph; None: git counts faster, or must.

        Walking by generation, a commit's flags (reached from OLD, from NEW) are final when it is
        popped; once every queued commit is reached from both, nothing below can be on one side only.
        A side holds a commit per generation between the ends at least, so a walk that pops many
        more than that is painting down a long-lived branch, which git does ten times faster: the
        walk gives up early, having cost at most about what starting git costs (`_WALK_BUDGET`).
        """
        rows = self._rows(old, new)
        if rows is None:
            return None
        left, right = rows
        assert self._graph is not None
        apart = abs(self._graph.record(left)[1] - self._graph.record(right)[1])
        budget = min(_WALK_PER_GENERATION * apart + _WALK_SLACK, _WALK_BUDGET)
        if apart >= budget or not walks.worth_trying:
            return None  # a side holds a commit per generation between them; or this history's walks give up
        masks: list[int] = []  # on commit-graph rows each commit is popped once, with its final mask
        if self._paint([(left, _OLD), (right, _NEW)], stale=_OLD | _NEW, budget=budget, masks=masks) is None:
            walks.gave_up += 1
            return None
        walks.counted += 1
        return Divergence(old_only=masks.count(_OLD), new_only=masks.count(_NEW))

    def _rows(self, *shas: str) -> list[int] | None:
        """The commit-graph rows of these commits, or None unless the graph holds them all (with their ancestors)."""
        graph = self._graph
        if graph is None or self._shallow:
            return None
        rows = [graph.position(sha) for sha in shas]
        return None if None in rows else rows  # type: ignore[return-value]

    def _paint(
        self,
        starts: Sequence[tuple[int, int]],
        *,
        stale: int,
        first_parent: bool = False,
        floor: int = -1,
        goal: int | None = None,
        budget: int = 0,
        order: list[int] | None = None,
        masks: list[int] | None = None,
    ) -> int | None:
        """The walk the ancestry questions share: paint each start's bits down onto its ancestors.

        A commit's mask is the OR of the bits of the starts that reach it. Commits are popped
        highest generation first (then newest date), so a commit-graph row is popped after all
        its children, with its final mask, and is then forgotten. A commit the graph lacks
        (generation INFINITY, ordered by date) may be reached again after it was popped: it is
        then walked again with its new bits, so masks stay exact whatever the dates say.

        A commit whose mask holds all of `stale` keeps no walk going: the walk ends when none
        that does is queued. `first_parent`: commits not stale follow their first parent only.
        Commits of generation `floor` or less are not entered. `order` receives each commit as
        it is popped, and `masks` its mask then (lists, not a callback: this loop is the hot path).

        Returns the bits that reached `goal` (0 without one), or None past `budget` pops. The
        walk ends when a goal on a commit-graph row is popped: all that can reach it was popped
        before it.
        """
        record = self._record
        rows = self._graph.record if self._graph is not None and not self._shallow else None  # the fast path
        painted: dict[int, int] = {}  # queued commits, and popped ones the graph lacks (inverted: negative)
        for node, bits in starts:
            painted[node] = painted.get(node, 0) | bits
        heap: list[tuple[int, int, int, tuple[int, ...]]] = []
        live = 0  # queued commits that are not stale
        for node, mask in painted.items():
            parents, generation, when = record(node)
            heap.append((-generation, -when, node, parents))
            live += mask & stale != stale
        heapq.heapify(heap)
        pop, push, get = heapq.heappop, heapq.heappush, painted.get  # locals: this loop runs per commit
        reached = 0
        while heap and live:
            if budget:
                budget -= 1
                if not budget:
                    return None
            _, _, node, parents = pop(heap)
            if node >= 0:
                mask = painted.pop(node)
            else:
                mask = painted[node]
                painted[node] = ~mask
            alive = mask & stale != stale
            if alive:
                live -= 1
            if node == goal:
                reached = mask
                if node >= 0:
                    break
            if order is not None:
                order.append(node)
            if masks is not None:
                masks.append(mask)
            for parent in parents[:1] if first_parent and alive else parents:
                known = get(parent)
                if known is None:
                    grand, generation, when = rows(parent) if rows is not None and parent >= 0 else record(parent)
                    if generation <= floor:
                        continue  # at or below the floor: cannot lead anywhere wanted
                    push(heap, (-generation, -when, parent, grand))
                    painted[parent] = mask
                    live += alive
                elif known >= 0:  # queued
                    merged = known | mask
                    if merged != known:
                        painted[parent] = merged
                        live -= known & stale != stale and merged & stale == stale
                elif ~known | mask != ~known:  # popped already, and reached again by a path dated later
                    merged = ~known | mask
                    grand, generation, when = record(parent)
                    push(heap, (-generation, -when, parent, grand))
                    painted[parent] = merged
                    live += merged & stale != stale
        if goal is not None and goal in painted:
            return _final(painted[goal])
        return reached

    def is_ancestor(self, *, ancestor: str, descendant: str) -> bool:
        """`git merge-base --is-ancestor`: True when `descendant` contains `ancestor`.

        Asked of git, which answers from the commit-graph's generation numbers in milliseconds,
        where a walk here would cover the whole range in between (10,000 commits in a large bisect).
        """
        return self.asking_is_ancestor(ancestor=ancestor, descendant=descendant)()

    def asking_is_ancestor(self, *, ancestor: str, descendant: str) -> Callable[[], bool]:
        """`is_ancestor`, asked of git in the background: the returned call waits for the answer."""
        args = ["merge-base", "--is-ancestor", "--end-of-options", object_name(ancestor), object_name(descendant)]
        asked = RunningGit(args, cwd=self.paths.cwd)
        return lambda: asked.wait(check=False).returncode == 0
