"""From what you have in hand to a commit: a fingerprint (or a prefix of one), or an image name with tag or digest.

During an incident people hold an image tag or a digest (from kubectl, the ECS console, an
alert), not a commit. This finds the artifacts that ran with it, and the commit this repository
built them from. Pure: artifacts and the repository's answers come from the caller.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

from git_kosli.errors import UnknownRevisionError
from git_kosli.model import Artifact, CommitSha, short

MIN_PREFIX = 7
_HEX_PREFIX = re.compile(rf"^[0-9a-fA-F]{{{MIN_PREFIX},64}}$")
_DIGEST = re.compile(r"@sha256:([0-9a-fA-F]{64})$")


def is_artifact_reference(text: str) -> bool:
    """True for what may name an artifact: 7 to 64 hex digits, or an image name with a tag or a digest."""
    return bool(_HEX_PREFIX.match(text) or _DIGEST.search(text) or ":" in text.rsplit("/", 1)[-1])


def matching(text: str, artifacts: Iterable[Artifact]) -> list[Artifact]:
    """The artifacts `text` names, one per fingerprint (or name, for one without), in the order first seen.

    A fingerprint or a prefix of one; `…@sha256:DIGEST` names the fingerprint DIGEST (an image's
    fingerprint is its digest); `NAME:TAG` names artifacts called that, with or without their
    registry (`runner:6a29198` is `244531986313.dkr.ecr…/runner:6a29198`).
    """
    found: dict[str, Artifact] = {}
    digest = _DIGEST.search(text)
    for artifact in artifacts:
        if artifact.identity in found:
            continue
        if _HEX_PREFIX.match(text):
            hit = artifact.fingerprint.startswith(text.lower())
        elif digest:
            hit = artifact.fingerprint == digest.group(1).lower()
        else:
            name = artifact.name.split("@sha256:")[0]
            hit = name == text or name.endswith(f"/{text}")
        if hit:
            found[artifact.identity] = artifact
    return list(found.values())


def _flows(artifact: Artifact) -> str:
    """Every flow an artifact was reported to, by name (Kosli lists them in no meaningful order)."""
    flows = sorted({p.flow for p in artifact.provenance if p.flow})
    return f"flow{'s' if len(flows) > 1 else ''} {', '.join(flows)}" if flows else "no provenance"


class Resolved(NamedTuple):
    """The artifact an input named, and the commit this repository built it from."""

    artifact: Artifact
    commit: CommitSha


def resolve(
    text: str,
    artifacts: Iterable[Artifact],
    *,
    commit_of: Callable[[Artifact], CommitSha | None],
    has_commit: Callable[[str], bool],
) -> Resolved:
    """The one artifact of this repository `text` names, with its commit.

    Raises:
        UnknownRevisionError: nothing matched, only other repositories' artifacts did, several
            commits did (the candidates are listed), or the commit is missing here.
    """
    found = matching(text, artifacts)
    if not found:
        raise UnknownRevisionError(
            f"'{text}' is not a revision, and no artifact that ran in any environment has that fingerprint or image"
        )
    ours = [(a, c) for a in found if (c := commit_of(a)) is not None]
    if not ours:
        names = ", ".join(f"{a.display_name} ({_flows(a)})" for a in found)
        raise UnknownRevisionError(f"'{text}' names {names}: not built from this repository")
    commits = {c for _, c in ours}
    if len(commits) > 1:
        listed = ", ".join(f"{a.display_name} (fingerprint {short(a.fingerprint)}, commit {short(c)})" for a, c in ours)
        raise UnknownRevisionError(f"'{text}' is ambiguous: {listed}")
    artifact, commit = ours[0]
    if not has_commit(commit):
        raise UnknownRevisionError(
            f"{artifact.display_name} was built from {short(commit)}, which is not in this repository; run 'git fetch'"
        )
    return Resolved(artifact, commit)
