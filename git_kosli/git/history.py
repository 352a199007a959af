"""Read-only access to commit history: parents, ancestry, ranges and subjects.

Walks read the commit-graph file row by row when the repository has one (as git does),
else commit objects, through dulwich, for the commits the graph lacks; git itself lists
ranges and subjects. Walks order by generation number where the graph gives one, and by
commit date otherwise. "Not found" answers are None or
False, never exceptions. Revisions typed by users go through `git rev-parse`, so
every form git accepts works here too.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from git_kosli.git.commit_graph import CommitGraphFile
from git_kosli.git.repository import RepoPaths
from git_kosli.git.run import ObjectTypes, RunningGit, object_name, run_git, stream_git
from git_kosli.model import CommitSha, Divergence, clean_text, commit_sha_or_none

if TYPE_CHECKING:
    from dulwich.repo import Repo


def _open_graph(common_dir: Path) -> CommitGraphFile | None:
    """The repository's single commit-graph file, when git wrote one (a split chain is walked without it)."""
    path = common_dir / "objects" / "info" / "commit-graph"
    try:
        return CommitGraphFile(path) if path.is_file() else None
    except (ValueError, KeyError, OSError):
        return None  # a format we do not read: walk commit objects instead, as correct if slower


class RangeLog:
    """The commits of a range, listed by git in the background (see `GitHistory.log_range`)."""

    def __init__(self, shape: RunningGit, subjects: RunningGit) -> None:
        self._shape = shape
        self._subjects = subjects

    def parents(self) -> dict[CommitSha, tuple[str, ...]]:
        """Each commit of the range with its parents, children before parents; waits for git."""
        found = {}
        for line in _formatted(self._shape):
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
_DATE_SLOP = 5  # extra steps past the boundary when ordering by date, as git does
_DATE_SKEW_SECONDS = 86400  # without generation numbers, tolerate a day of clock skew
_COUNTING_AT_ONCE = 8  # git processes counting at a time
_WALK_BUDGET = 4096  # commits a pair's walk may visit before git is asked instead
_INFINITY = 1 << 62  # a commit the commit-graph does not hold sorts after all it holds, as in git


def _symmetric(old: str, new: str) -> list[str]:
    """`OLD...NEW` as the one revision after `--end-of-options`."""
    return ["--end-of-options", f"{object_name(old)}...{object_name(new)}", "--"]


class GitHistory:
    """Commits, parents and ancestry of one repository, with one walk per question asked."""

    def __init__(self, paths: RepoPaths) -> None:
        self.paths = paths
        self._opened: Repo | None = None
        self._graph = _open_graph(paths.common_dir)
        shallow = paths.common_dir / "shallow"
        self._shallow = set(shallow.read_text().split()) if shallow.is_file() else set()
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
        return RangeLog(
            RunningGit([*walk, "--format=%H %P", *ends], cwd=self.paths.cwd),
            RunningGit([*walk, "--format=%H%x00%s", *ends], cwd=self.paths.cwd),
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
        record = self._outside_records[node] = (parents, _INFINITY, commit.commit_time)  # type: ignore[attr-defined]
        return record

    def exclusive(
        self, *, include: Sequence[str], exclude: Sequence[str], first_parent: bool = False
    ) -> list[CommitSha]:
        """`git rev-list INCLUDE --not EXCLUDE`: children before parents.

        One walk from both sides at once, stopping as soon as everything still
        queued is reachable from EXCLUDE, so the cost follows the range, not the
        whole history.
        """
        record = self._record
        flags: dict[int, int] = {}
        heap: list[tuple[int, int, int, tuple[int, ...]]] = []
        popped: set[int] = set()
        interesting = 0  # queued commits reachable from INCLUDE only

        def push(node: int, flag: int) -> None:
            nonlocal interesting
            old = flags.get(node)
            if old is None:
                flags[node] = flag
                parents, generation, when = record(node)
                heapq.heappush(heap, (-generation, -when, node, parents))
                interesting += flag == _NEW
            elif old | flag != old:
                flags[node] = old | flag
                if old == _NEW and node not in popped:
                    interesting -= 1

        for sha in exclude:
            push(self._node(sha), _OLD)
        for sha in include:
            push(self._node(sha), _NEW)
        order: list[int] = []
        slop = 0 if self._graph is not None else _DATE_SLOP  # dates can be skewed; generations cannot
        while heap and (interesting > 0 or slop > 0):
            if interesting == 0:
                slop -= 1
            _, _, node, parents = heapq.heappop(heap)
            popped.add(node)
            flag = flags[node]
            if flag == _NEW:
                interesting -= 1
                order.append(node)
                for parent in parents[:1] if first_parent else parents:
                    push(parent, _NEW)
            else:
                for parent in parents:
                    push(parent, _OLD)
        return [CommitSha(self._sha(node)) for node in order if flags[node] == _NEW]

    def containing(self, target: str, tips: Iterable[str]) -> set[CommitSha]:
        """Which of `tips` contain `target` (are it, or descend from it): one walk for all of them.

        Each tip carries a bit; a commit's mask is the OR of the masks of the tips that
        reach it. Walking in generation order means a commit's mask is complete when it is
        popped, and nothing older than `target` needs visiting. The walk covers every commit
        between the tips and the target, so it runs on commit-graph rows: a few microseconds each.
        """
        tip_list = [t for t in dict.fromkeys(tips) if self.has_commit(t)]
        if not tip_list or not self.has_commit(target):
            return set()
        record = self._record
        rows = self._graph.record if self._graph is not None and not self._shallow else None  # the fast path
        goal = self._node(target)
        _, generation, when = record(goal)
        if self._graph is None:  # dates may be skewed: look a day further back, as git's cut-off does
            when -= _DATE_SKEW_SECONDS
        floor = (generation, when)
        masks: dict[int, int] = {}
        heap: list[tuple[int, int, int, tuple[int, ...]]] = []
        for bit, tip in enumerate(tip_list):
            node = self._node(tip)
            if node not in masks:
                parents, tip_generation, tip_when = record(node)
                heapq.heappush(heap, (-tip_generation, -tip_when, node, parents))
            masks[node] = masks.get(node, 0) | (1 << bit)
        while heap:
            _, _, node, parents = heapq.heappop(heap)
            mask = masks.pop(node)  # never needed again: every child has been popped
            if node == goal:
                return {CommitSha(t) for bit, t in enumerate(tip_list) if mask >> bit & 1}
            for parent in parents:
                known = masks.get(parent)
                if known is None:
                    grand, generation, when = rows(parent) if rows is not None and parent >= 0 else record(parent)
                    if parent != goal and (generation, when) <= floor:
                        continue  # older than the target: cannot lead to it
                    heapq.heappush(heap, (-generation, -when, parent, grand))
                    masks[parent] = mask
                else:
                    masks[parent] = known | mask
        return set()

    def divergences(
        self, pairs: Iterable[tuple[CommitSha, CommitSha]]
    ) -> dict[tuple[CommitSha, CommitSha], Divergence]:
        """For each pair (OLD, NEW): the commits only OLD has, and those only NEW has.

        A pair a few thousand commits apart (one deploy to the next: what `log` asks of every
        snapshot) is counted here, on commit-graph rows, in well under a millisecond. A pair
        farther apart (an environment far behind), or one the commit-graph lacks, is counted by
        git in C (`rev-list --count --left-right OLD...NEW`), the git processes running together.
        """
        counts: dict[tuple[CommitSha, CommitSha], Divergence] = {}
        by_git = []
        for pair in dict.fromkeys(pairs):
            counted = self._count_sides(*pair)
            if counted is None:
                by_git.append(pair)
            else:
                counts[pair] = counted
        for start in range(0, len(by_git), _COUNTING_AT_ONCE):
            batch = by_git[start : start + _COUNTING_AT_ONCE]
            running = [
                RunningGit(["rev-list", "--count", "--left-right", *_symmetric(old, new)], cwd=self.paths.cwd)
                for old, new in batch
            ]
            for pair, listing in zip(batch, running, strict=True):
                old_only, new_only = listing.wait().stdout.split()
                counts[pair] = Divergence(old_only=int(old_only), new_only=int(new_only))
        return counts

    def _count_sides(self, old: str, new: str) -> Divergence | None:
        """The commits only OLD has and only NEW has, walking the commit-graph; None: not both in it, or too far apart.

        Walking by generation, a commit's flags (reached from OLD, from NEW) are final when it is
        popped; once every queued commit is reached from both, nothing below can be on one side only.
        """
        graph = self._graph
        if graph is None or self._shallow:
            return None
        left, right = graph.position(old), graph.position(new)
        if left is None or right is None:
            return None
        record = graph.record
        ends = {node: record(node) for node in (left, right)}
        if abs(ends[left][1] - ends[right][1]) >= _WALK_BUDGET:
            return None  # a side holds at least a commit per generation between them: too many to walk
        flags = {left: 1, right: 2} if left != right else {left: 3}
        heap: list[tuple[int, int, int, tuple[int, ...]]] = []
        for node, (parents, generation, when) in ends.items():
            heapq.heappush(heap, (-generation, -when, node, parents))
        one_side = sum(1 for flag in flags.values() if flag != 3)
        sides = [0, 0, 0, 0]  # by flag: 1 OLD only, 2 NEW only
        budget = _WALK_BUDGET
        while heap and one_side:
            budget -= 1
            if not budget:
                return None  # far apart: git counts faster
            _, _, node, parents = heapq.heappop(heap)
            flag = flags[node]
            if flag != 3:
                one_side -= 1
                sides[flag] += 1
            for parent in parents:
                known = flags.get(parent)
                if known is None:
                    flags[parent] = flag
                    grand, generation, when = record(parent)
                    heapq.heappush(heap, (-generation, -when, parent, grand))
                    one_side += flag != 3
                elif known | flag != known:
                    flags[parent] = 3
                    one_side -= 1
        return Divergence(old_only=sides[1], new_only=sides[2])

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
