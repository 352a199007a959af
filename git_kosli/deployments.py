"""What each environment runs of this repository, relative to a revision.

Pure: snapshots and commit counts come from the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from git_kosli.model import Artifact, CommitSha, Divergence, EnvName, Snapshot
from git_kosli.ranges import Divergences


@dataclass(frozen=True)
class Running:
    """One commit of this repository running in an environment, compared with the revision.

    The counts are None when the commit is not in this clone (not fetched): nothing is guessed.
    """

    commit: CommitSha
    artifact: Artifact
    since: Snapshot  # the snapshot it started running in (this time)
    behind: int | None  # commits the revision has that the environment lacks: what a deploy would bring
    ahead: int | None  # commits running that the revision lacks
    shallow: bool = False  # this clone is shallow: a commit it lacks may still be below its boundary
    flow: str | None = None  # this repository's flow of the artifact

    @property
    def fetched(self) -> bool:
        """True when the running commit is in this clone, so the counts are known."""
        return self.ahead is not None

    @property
    def contained(self) -> bool | None:
        """True when the revision contains the running commit (not, say, a hotfix from another branch).

        A commit this clone lacks is in none of its revisions; in a shallow clone that is unknown (None).
        """
        if self.ahead is not None:
            return self.ahead == 0
        return None if self.shallow else False


@dataclass(frozen=True)
class EnvStatus:
    """An environment's latest snapshot seen from one revision."""

    env: EnvName
    latest: Snapshot | None
    running: tuple[Running, ...]
    rogue: tuple[Artifact, ...]
    non_compliant: tuple[Artifact, ...]


def environment_statuses(
    histories: Mapping[EnvName, Sequence[Snapshot]],
    *,
    revision: CommitSha,
    commit_of: Callable[[Artifact], CommitSha | None],
    divergences: Divergences,
    missing: Collection[CommitSha] = (),
    shallow: bool = False,
    flow_of: Callable[[Artifact], str | None] = lambda artifact: None,
) -> list[EnvStatus]:
    """Each environment's status against one revision; the counts of every running commit come from one call.

    Commits in `missing` (not in this clone) are not counted: their counts are unknown.
    """
    running = {
        env: [(a, c) for a in history[-1].artifacts if (c := commit_of(a)) is not None] if history else []
        for env, history in histories.items()
    }
    pairs = [(commit, revision) for found in running.values() for _, commit in found if commit not in missing]
    counts = divergences(pairs)
    statuses = []
    for env, history in histories.items():
        if not history:
            statuses.append(EnvStatus(env, None, (), (), ()))
            continue
        latest = history[-1]
        statuses.append(
            EnvStatus(
                env,
                latest,
                tuple(
                    Running(
                        commit,
                        artifact,
                        running_since(history, commit, commit_of),
                        behind=_or_none(counts.get((commit, revision)), new_only=True),
                        ahead=_or_none(counts.get((commit, revision)), new_only=False),
                        shallow=shallow,
                        flow=flow_of(artifact),
                    )
                    for artifact, commit in running[env]
                ),
                tuple(a for a in latest.artifacts if a.rogue),
                tuple(a for a in latest.artifacts if a.compliant is False),
            )
        )
    return statuses


def _or_none(counted: Divergence | None, *, new_only: bool) -> int | None:
    if counted is None:
        return None
    return counted.new_only if new_only else counted.old_only


def running_since(
    history: Sequence[Snapshot], commit: CommitSha, commit_of: Callable[[Artifact], CommitSha | None]
) -> Snapshot:
    """The snapshot a commit started running in, this time: the first of the latest unbroken run that has it."""
    since = history[-1]
    for snapshot in reversed(history):
        if not any(commit_of(a) == commit for a in snapshot.artifacts):
            break
        since = snapshot
    return since


def missing_deployed(statuses: Sequence[EnvStatus], blocking_envs: Sequence[str]) -> list[tuple[EnvStatus, Running]]:
    """The running commits of the listed environments that the pushed revision does not contain (known not to)."""
    return [(s, r) for s in statuses if s.env in blocking_envs for r in s.running if r.contained is False]
