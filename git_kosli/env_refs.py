"""Which refs `git kosli fetch` writes, as `git fetch` decides its remote-tracking branches. Pure.

Each environment running an artifact of this repository gets `refs/kosli/<env>` at that
artifact's commit; an environment running several (a monorepo's services) gets
`refs/kosli/<env>/<artifact>` for each instead. Ref names are built only from names that
pass Kosli's name rule and git's ref-name rules (`git check-ref-format`), never from raw
server strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import NamedTuple

from git_kosli.deployments import running_since
from git_kosli.model import ENV_NAME_PATTERN, Artifact, CommitSha, EnvName, Snapshot, clean_text, short

REF_PREFIX = "refs/kosli/"
_NOT_A_NAME_CHARACTER = re.compile(r"[^A-Za-z0-9._-]+")


def ref_component_or_none(name: str) -> str | None:
    """`name` when it is a valid Kosli name and a valid ref component, else None.

    Kosli names are letters, digits, `.`, `-` and `_`, starting with a letter or digit; of git's
    rules (`git check-ref-format`) that leaves no `..`, no trailing `.` and no `.lock` suffix.
    """
    if not ENV_NAME_PATTERN.match(name) or ".." in name or name.endswith((".", ".lock")):
        return None
    return name


def artifact_ref_name_or_none(artifact: Artifact) -> str | None:
    """The artifact's short name as a ref component: `runner` for `123.dkr.ecr…/runner:6a29198@sha256:…`.

    Characters Kosli would not allow in a name become `-`; None when nothing usable is left.
    """
    bare = artifact.display_name.split(":", 1)[0]
    cleaned = _NOT_A_NAME_CHARACTER.sub("-", bare).lstrip("._-")
    return ref_component_or_none(cleaned) if cleaned else None


def env_of_ref(ref: str) -> str:
    """The environment a ref under refs/kosli/ belongs to (`aws-prod` for `refs/kosli/aws-prod/runner`)."""
    return ref.removeprefix(REF_PREFIX).split("/", 1)[0]


class Slot(NamedTuple):
    """One running artifact of this repository and the ref that shows it."""

    ref: str
    env: EnvName
    artifact: Artifact
    commit: CommitSha
    since: Snapshot  # the snapshot it started running in (this time)
    fetched: bool  # False: the commit is not in this repository, so no ref can point at it

    @property
    def message(self) -> str:
        """The reflog message: the snapshot it started running in, and the artifact (`aws-prod#6 runner:6a29198`)."""
        return clean_text(f"{self.since.ref} {self.artifact.display_name}")  # no server control character in the reflog


class Refused(NamedTuple):
    """An environment or artifact whose name cannot become a ref."""

    env: str
    artifact: Artifact | None


def slots(
    histories: Mapping[EnvName, Sequence[Snapshot]],
    *,
    commit_of: Callable[[Artifact], CommitSha | None],
    has_commit: Callable[[str], bool],
) -> tuple[list[Slot], list[Refused]]:
    """The ref of each artifact of this repository running in each environment's latest snapshot."""
    found: list[Slot] = []
    refused: list[Refused] = []
    for env, history in histories.items():
        if not history:
            continue
        running = _running(history[-1], commit_of)
        if not running:
            continue
        if ref_component_or_none(env) is None:
            refused.append(Refused(env, None))
            continue
        names = _names(running)
        for (artifact, commit), name in zip(running, names, strict=True):
            if name is None:
                refused.append(Refused(env, artifact))
                continue
            ref = f"{REF_PREFIX}{env}" if len(running) == 1 else f"{REF_PREFIX}{env}/{name}"
            since = running_since(history, commit, commit_of)
            found.append(Slot(ref, env, artifact, commit, since, has_commit(commit)))
    return found, refused


def _running(snapshot: Snapshot, commit_of: Callable[[Artifact], CommitSha | None]) -> list[tuple[Artifact, CommitSha]]:
    """This repository's artifacts in a snapshot, one per short name and commit."""
    seen: dict[tuple[str, CommitSha], Artifact] = {}
    for artifact in snapshot.artifacts:
        commit = commit_of(artifact)
        if commit is not None:
            seen.setdefault((artifact.display_name.split(":", 1)[0], commit), artifact)
    return [(artifact, commit) for (_, commit), artifact in seen.items()]


def _names(running: Sequence[tuple[Artifact, CommitSha]]) -> list[str | None]:
    """A distinct ref component per running artifact: its short name, with the short commit where names repeat."""
    names = [artifact_ref_name_or_none(artifact) for artifact, _ in running]
    repeated = {n for n in names if n is not None and names.count(n) > 1}
    return [
        f"{name}-{short(commit)}" if name in repeated else name
        for name, (_, commit) in zip(names, running, strict=True)
    ]


class RefChanges(NamedTuple):
    """What fetching changes under refs/kosli/: deletions first (a ref cannot be a directory too), then writes."""

    deletions: list[tuple[str, CommitSha]]  # (ref, its current commit)
    writes: list[tuple[Slot, CommitSha | None]]  # (what to write, the ref's current commit or None)
    not_fetched: list[Slot]  # the commit is not here: no ref is written, an existing one stays as it is


def ref_changes(
    current: Mapping[str, CommitSha], found: Sequence[Slot], *, envs: Collection[str] | None = None
) -> RefChanges:
    """Compare the refs under refs/kosli/ with what runs; `envs`: only these environments' refs (None: all).

    A ref whose commit is not fetched here is left as it is (as `git fetch` leaves a rejected
    ref), unless it stands where a ref now has to go; refs of environments that no longer run
    an artifact of this repository are deleted.
    """
    wanted = {s.ref: s for s in found if s.fetched}
    keep = {s.ref for s in found if not s.fetched and s.ref in current and not _conflicts(s.ref, wanted)}
    in_scope = [ref for ref in current if envs is None or env_of_ref(ref) in envs]
    deletions = [(ref, current[ref]) for ref in sorted(in_scope) if ref not in wanted and ref not in keep]
    writes = [(s, current.get(s.ref)) for s in wanted.values() if current.get(s.ref) != s.commit]
    return RefChanges(deletions, writes, [s for s in found if not s.fetched])


def _conflicts(ref: str, others: Collection[str]) -> bool:
    """True when a ref of `others` lies inside `ref` or `ref` inside one of them (a file and a directory)."""
    return any(other.startswith(f"{ref}/") or ref.startswith(f"{other}/") for other in others)
