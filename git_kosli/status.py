"""What each environment runs of this repository, relative to a revision; and the pre-push protocol.

Pure: snapshots and commit counts come from the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from git_kosli.model import Artifact, CommitSha, EnvName, Snapshot
from git_kosli.ranges import Divergences


@dataclass(frozen=True)
class Running:
    """One commit of this repository running in an environment, compared with the revision."""

    commit: CommitSha
    artifact: Artifact
    since: Snapshot  # the snapshot it started running in (this time)
    behind: int  # commits the revision has that the environment lacks: what a deploy would bring
    ahead: int  # commits running that the revision lacks

    @property
    def contained(self) -> bool:
        """True when the revision contains the running commit (not, say, a hotfix from another branch)."""
        return self.ahead == 0


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
) -> list[EnvStatus]:
    """Each environment's status against one revision; the counts of every running commit come from one call."""
    running = {env: [(a, c) for a in history[-1].artifacts if (c := commit_of(a)) is not None] if history else []
               for env, history in histories.items()}
    pairs = [(commit, revision) for found in running.values() for _, commit in found]
    counts = divergences(pairs)
    statuses = []
    for env, history in histories.items():
        if not history:
            statuses.append(EnvStatus(env, None, (), (), ()))
            continue
        latest = history[-1]
        statuses.append(EnvStatus(
            env,
            latest,
            tuple(Running(commit, artifact, _running_since(history, commit, commit_of), *counts[(commit, revision)])
                  for artifact, commit in running[env]),
            tuple(a for a in latest.artifacts if a.rogue),
            tuple(a for a in latest.artifacts if a.compliant is False),
        ))
    return statuses


def _running_since(
    history: Sequence[Snapshot], commit: CommitSha, commit_of: Callable[[Artifact], CommitSha | None]
) -> Snapshot:
    since = history[-1]
    for snapshot in reversed(history):
        if not any(commit_of(a) == commit for a in snapshot.artifacts):
            break
        since = snapshot
    return since


@dataclass(frozen=True)
class PushedRef:
    """One line of what git gives a pre-push hook on stdin."""

    local_ref: str
    local_sha: str
    remote_ref: str
    remote_sha: str

    @property
    def deleted(self) -> bool:
        """A delete: `(delete)` and an all-zero local sha."""
        return is_zero(self.local_sha)


def is_zero(sha: str) -> bool:
    """The all-zero object name git uses for "no object" (40 zeros, or 64 under SHA-256)."""
    return bool(sha) and set(sha) == {"0"}


def parse_push_lines(text: str) -> list[PushedRef]:
    """`<local ref> SP <local sha> SP <remote ref> SP <remote sha> LF` per ref; empty when up to date.

    Lines that do not have four fields are ignored: a hook must never stop a push over its input.
    """
    refs = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 4:
            refs.append(PushedRef(*fields))
    return refs


def pre_commit_refs(environ: Mapping[str, str]) -> list[PushedRef]:
    """The one ref pre-commit passes in PRE_COMMIT_* variables (it consumes git's stdin itself)."""
    to_ref = environ.get("PRE_COMMIT_TO_REF")
    if not to_ref:
        return []
    return [
        PushedRef(
            environ.get("PRE_COMMIT_LOCAL_BRANCH", to_ref),
            to_ref,
            environ.get("PRE_COMMIT_REMOTE_BRANCH", ""),
            environ.get("PRE_COMMIT_FROM_REF", ""),
        )
    ]


def missing_deployed(statuses: Sequence[EnvStatus], blocking_envs: Sequence[str]) -> list[tuple[EnvStatus, Running]]:
    """The running commits of the listed environments that the pushed revision does not contain."""
    return [(s, r) for s in statuses if s.env in blocking_envs for r in s.running if not r.contained]
