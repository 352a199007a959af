"""Gather what the history commands need from a source: the environments' histories, checked for this repository."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from git_kosli.errors import SourceError
from git_kosli.model import EnvName, Snapshot
from git_kosli.pairing import RepoMatcher, repo_of_commit_url
from git_kosli.source import Source


def load_histories(source: Source, envs: Sequence[str]) -> dict[EnvName, list[Snapshot]]:
    """Every snapshot of the named environments (all of them when none are named), oldest first."""
    return source.histories([EnvName(e) for e in envs]) if envs else source.all_histories()


def require_this_repository(histories: Mapping[EnvName, Sequence[Snapshot]], matcher: RepoMatcher) -> None:
    """Refuse, saying what the environments do run, when none of their artifacts was built from this repository."""
    flows: set[str] = set()
    repos: set[str] = set()
    for history in histories.values():
        for snapshot in history:
            for artifact in snapshot.artifacts:
                if matcher.commit_of(artifact) is not None:
                    return
                flows.update(p.flow for p in artifact.provenance if p.flow)
                repos.update(filter(None, (repo_of_commit_url(p.commit_url or "") for p in artifact.provenance)))
    envs = ", ".join(histories) or "no environments"
    runs = f"flows {', '.join(sorted(flows))}" if flows else "no artifact with provenance"
    where = f"; repositories {', '.join(sorted(repos))}" if repos else ""
    raise SourceError(f"no artifact in {envs} was built from this repository (they run {runs}{where})")
