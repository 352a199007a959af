"""What every command needs, opened on first use and closed when the command ends."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from git_kosli.config import GitConfig
from git_kosli.gitcmd import RepoPaths, discover

if TYPE_CHECKING:
    from git_kosli.git_history import GitHistory
    from git_kosli.pairing import RepoMatcher
    from git_kosli.source import Source
    from git_kosli.store import Store

_T = TypeVar("_T")


class AppContext:
    """The repository, its settings and the snapshot source, for one command."""

    def __init__(self, cwd: str | Path, environ: Mapping[str, str]) -> None:
        self.cwd = Path(cwd)
        self.environ = environ
        self._closers: list[object] = []

    @cached_property
    def paths(self) -> RepoPaths:
        """Where the repository keeps things (raises NotARepositoryError outside one)."""
        return discover(self.cwd)

    @cached_property
    def config(self) -> GitConfig:
        """git's configuration for this repository."""
        return GitConfig.load(self.paths)

    @cached_property
    def history(self) -> GitHistory:
        """The repository's commit history."""
        from git_kosli.git_history import GitHistory

        return self._keep(GitHistory(self.paths))

    def store(self, *, create: bool) -> Store:
        """The embedded store; read-only commands do not create one."""
        from git_kosli.store import Store, store_path

        return self._keep(Store(store_path(self.paths.common_dir), create=create))

    @cached_property
    def source(self) -> Source:
        """Where snapshots come from: the embedded store."""
        from git_kosli.source import LocalSource

        return LocalSource(self.store(create=False))

    @cached_property
    def matcher(self) -> RepoMatcher:
        """Tells which artifacts this repository built."""
        from git_kosli.pairing import RepoMatcher, normalize_repo_url

        remotes = frozenset(filter(None, map(normalize_repo_url, self.config.remote_urls())))
        return RepoMatcher(remotes=remotes, has_commit=self.history.has_commit)

    def _keep(self, resource: _T) -> _T:
        self._closers.append(resource)
        return resource

    def close(self) -> None:
        """Close whatever was opened, newest first."""
        while self._closers:
            self._closers.pop().close()  # type: ignore[attr-defined]


pass_app = click.make_pass_decorator(AppContext)
