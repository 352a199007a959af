"""What every command needs, opened on first use and closed when the command ends."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

import click

from git_kosli.errors import KosliError
from git_kosli.git.config import GitConfig
from git_kosli.git.repository import RepoPaths, discover
from git_kosli.model import short

if TYPE_CHECKING:
    from git_kosli.deployments import EnvStatus
    from git_kosli.git.history import GitHistory
    from git_kosli.model import CommitSha, EnvName, Snapshot
    from git_kosli.pairing import RepoMatcher
    from git_kosli.sources import Source
    from git_kosli.sources.kosli.api import KosliClient
    from git_kosli.sources.kosli.source import KosliSource
    from git_kosli.sources.settings import KosliSettings
    from git_kosli.sources.store import Store

_T = TypeVar("_T")
Refresh = Literal["old", "always", "never-fetched"]
"""What a command fetches before it reads Kosli data: what is older than kosli.fetch.maxAge (most
commands), everything (`fetch`), or only what was never fetched (the pre-push hook, which answers
from older data and refreshes it in the background)."""


class AppContext:
    """The repository, its settings and the snapshot source, for one command."""

    def __init__(
        self,
        cwd: str | Path,
        environ: Mapping[str, str],
        options: dict[str, str | None] | None = None,
        terminal: Mapping[str, str | bool] | None = None,
    ) -> None:
        """Keep what the command line gave.

        `options`: the Kosli settings (`--org`, `--host`, `--source`, `--offline`, `--debug`); `terminal`:
        `--color` and `--no-pager`; both filled in while the rest of the command line is parsed, as
        these options may follow the command's name.
        """
        self.cwd = Path(cwd)
        self.environ = environ
        self.options = options if options is not None else {}  # filled in while the command line is parsed
        self.terminal = terminal if terminal is not None else {}
        self.deadline: float | None = None  # `time.monotonic()` past which no request to Kosli may run
        self.refresh: Refresh = "old"  # set by a command before it reads
        self._kosli: KosliSource | None = None
        self._closers: list[object] = []

    def show(self, text: str, *, long: bool = False) -> None:
        """Print text for people: coloured as git decides, and through the pager when `long` and on a terminal."""
        import sys

        from git_kosli.terminal import page, pager_command, paint, want_color

        pager = pager_command(self.environ, cwd=str(self.cwd), enabled=self._paging_enabled) if long else None
        choice = self.terminal.get("color")
        colour = want_color(
            str(choice) if choice else None,
            self.environ,
            stdout_tty=pager is not None or sys.stdout.isatty(),
            config=self._any_config,
        )
        shown = paint(text, colour=colour)
        if pager is None:
            click.echo(shown, color=colour)  # click would strip the colour from a pipe; git's choice stands
        else:
            page(shown + "\n", pager, self.environ)

    def progress(self, title: str, total: int) -> Callable[[int], None]:
        """A progress line on stderr for something that may take a while (only on a terminal, after a delay)."""
        from git_kosli.terminal import Progress, progress_delay

        return Progress(title, total, delay=progress_delay(self.environ)).update

    @cached_property
    def _any_config(self) -> GitConfig:
        """Git's configuration here, in a repository or not (colour follows global settings outside one too)."""
        from git_kosli.errors import NotARepositoryError

        try:
            return self.config
        except NotARepositoryError:
            return GitConfig.load(self.cwd)

    def _paging_enabled(self) -> bool:
        """Not `--no-pager`, and not `pager.kosli=false` (any other value means git already pages for us)."""
        from git_kosli.errors import NotARepositoryError
        from git_kosli.git.config import git_bool

        if self.terminal.get("no-pager"):
            return False
        try:
            setting = self.config.get_or_none("pager.kosli")
        except NotARepositoryError:
            return True
        return git_bool(setting) is not False

    @cached_property
    def paths(self) -> RepoPaths:
        """Where the repository keeps things (raises NotARepositoryError outside one)."""
        return discover(self.cwd)

    @cached_property
    def config(self) -> GitConfig:
        """Git's configuration for this repository."""
        return GitConfig.load(self.paths.cwd)

    @cached_property
    def history(self) -> GitHistory:
        """The repository's commit history."""
        from git_kosli.git.history import GitHistory

        return self._keep(GitHistory(self.paths))

    def store(self, *, create: bool) -> Store:
        """The embedded store; read-only commands do not create one."""
        from git_kosli.sources.store import Store, store_path

        return self._keep(Store(store_path(self.paths.common_dir), create=create))

    @cached_property
    def settings(self) -> KosliSettings:
        """Kosli settings from the options, `KOSLI_*` variables, git config and the Kosli config file."""
        from git_kosli.errors import NotARepositoryError
        from git_kosli.sources.settings import load_settings

        try:
            config: GitConfig | None = self.config
        except NotARepositoryError:
            config = None  # `git kosli config` outside a repository still shows the rest
        settings = load_settings(self.options, self.environ, config)
        if settings.config_file_error is not None and not _needs_config_file(settings):
            click.echo(f"warning: {settings.config_file_error}; its settings are ignored", err=True)
        return settings

    @property
    def source_name(self) -> str:
        """`kosli` or `local`: as set, else Kosli when an org is configured."""
        chosen = self.settings.get("source")
        if chosen is None:
            return "kosli" if self.settings.org else "local"
        if chosen not in ("kosli", "local"):
            origin = self.settings.values["source"].origin
            raise KosliError(f"source '{chosen}' (from {origin}) is not one of: kosli, local")
        return chosen

    @cached_property
    def source(self) -> Source:
        """Where snapshots come from: a Kosli org through its cache, or the embedded store."""
        from git_kosli.sources.store import LocalSource

        if self.source_name == "local":
            return LocalSource(self.store(create=False))
        return self._kosli_source()

    def _kosli_source(self) -> Source:
        from git_kosli.sources.kosli.cache import KosliCache, cache_path
        from git_kosli.sources.kosli.source import KosliSource

        settings = self.settings
        if not settings.org:
            settings.require_config_file("org")
            raise KosliError(
                "the Kosli source needs an org, and none is set",
                hints=[
                    "set one: git config kosli.org ORG (or export KOSLI_ORG=ORG)",
                    "or read the embedded store: --source local",
                ],
            )
        max_age = 0.0 if self.refresh == "always" else settings.fetch_max_age
        cache = self._keep(KosliCache(cache_path(self.paths.common_dir, settings.org, settings.host)))
        self._kosli = KosliSource(
            None if self.options.get("offline") else self._client,
            cache,
            org=settings.org,
            flow=settings.get("flow"),
            max_age=max_age,
            keep_old=self.refresh == "never-fetched",
            progress=self.progress,
        )
        return self._kosli

    def _client(self) -> KosliClient:
        """The Kosli API client, made when a request is needed (its settings checked then)."""
        from git_kosli.sources.kosli.api import KosliClient

        debug = (lambda line: click.echo(f"[debug] {line}", err=True)) if self.settings.debug else None
        return self._keep(KosliClient(self.settings, debug=debug, deadline=self.deadline))

    def take_old_data_notice(self) -> str | None:
        """How old the Kosli data this command answered from without asking again was; None when all was recent.

        Said once: a second call returns None until older data is read again.
        """
        import time

        from git_kosli.views.fetch import fetched_ago

        old = self._kosli.old if self._kosli is not None else {}
        if not old:
            return None
        envs = sorted({name for kind, name in old if kind == "history"})
        notice = fetched_ago(envs, min(old.values()), time.time())
        old.clear()
        return notice

    def fetch_in_background(self, envs: Sequence[str]) -> bool:
        """Start `git kosli fetch [ENV...]` detached, with this command's options; False when one already runs.

        Raises:
            OSError: the git common dir's kosli/ folder cannot be written.
        """
        import sys

        from git_kosli.background import start
        from git_kosli.sources.settings import KEYS

        variable = {key.name: key.env for key in KEYS}
        environ, options = dict(self.environ), []
        for name, value in self.options.items():
            if not value:
                continue
            if name in variable:  # the same precedence in the child, and out of `ps` (a token, a host's password)
                environ[variable[name]] = value
            else:
                options.append(f"--{name}" if name == "offline" else f"--{name}={value}")
        argv = [sys.executable, "-m", "git_kosli", *options, "fetch", "--", *envs]
        return start(argv, folder=self.paths.common_dir / "kosli", environ=environ)

    @cached_property
    def matcher(self) -> RepoMatcher:
        """Tells which artifacts this repository built."""
        from git_kosli.pairing import RepoMatcher, normalize_repo_url

        remotes = frozenset(filter(None, map(normalize_repo_url, self.config.remote_urls())))
        return RepoMatcher(remotes=remotes, has_commit=self.history.has_commit, flow=self.settings.get("flow"))

    def matcher_for(self, histories: Mapping[EnvName, Sequence[Snapshot]], *, latest_only: bool = False) -> RepoMatcher:
        """The matcher, knowing this repository's flows from the histories.

        So an artifact of those flows is this repository's even when its commit is not fetched here.
        `latest_only`: the caller reads only the latest snapshots, so the histories are read only
        when one of those has an artifact with a commit that is not recognised without them.
        """
        matcher = self.matcher
        if latest_only:
            latest = (a for history in histories.values() if history for a in history[-1].artifacts)
            if all(matcher.provenance_of(a) or not any(p.git_commit for p in a.provenance) for a in latest):
                return matcher
        return matcher.learning(a for history in histories.values() for s in history for a in s.artifacts)

    def missing_commits(
        self, histories: Mapping[EnvName, Sequence[Snapshot]], matcher: RepoMatcher, built: Iterable[CommitSha] = ()
    ) -> set[CommitSha]:
        """The commits of this repository's artifacts (that ran, or `built`) that this clone lacks."""
        ours = {
            c for history in histories.values() for s in history for a in s.artifacts if (c := matcher.commit_of(a))
        }
        return {sha for sha in ours.union(built) if not self.history.has_commit(sha)}

    def environment_statuses(
        self, revision: CommitSha, envs: Sequence[str], *, histories: Mapping[EnvName, list[Snapshot]] | None = None
    ) -> list[EnvStatus]:
        """What each environment (all when none are named) runs of this repository, against one revision.

        `histories`: the environments' histories, when the caller has them already.
        """
        from git_kosli.deployments import environment_statuses
        from git_kosli.errors import GitCommandError
        from git_kosli.sources import load_histories

        if histories is None:
            histories = load_histories(self.source, envs)
        matcher = self.matcher_for(histories, latest_only=True)
        running = {matcher.commit_of(a) for history in histories.values() if history for a in history[-1].artifacts}
        try:
            return environment_statuses(
                histories,
                revision=revision,
                commit_of=matcher.commit_of,
                divergences=self.history.divergences,
                missing={sha for sha in running if sha is not None and not self.history.has_commit(sha)},
                shallow=self.paths.shallow,
                flow_of=matcher.flow_of,
            )
        except GitCommandError:  # git's own words name none of what the user typed: say what failed instead
            raise KosliError(
                f"git could not count the commits between {short(revision)} and the commits the environments run; "
                f"check the repository with 'git fsck'"
            ) from None

    def write_notes(
        self,
        histories: Mapping[EnvName, Sequence[Snapshot]],
        wanted: Collection[CommitSha] | None = None,
        *,
        only: Collection[str] = (),
    ) -> tuple[bool, int]:
        """Write refs/notes/kosli for every commit the histories ran or a build contains (only `wanted` ones).

        `only`: the histories are these environments' alone, so the notes rewritten keep the lines of
        every other environment. Returns whether a notes commit was written, and how many notes were compared.
        """
        from git_kosli.facts import commit_facts, episodes_by_commit, merged_note
        from git_kosli.git.notes import NotesTree
        from git_kosli.sources import load_builds

        matcher = self.matcher_for(histories)
        built = load_builds(self.source, histories, matcher)
        missing = self.missing_commits(histories, matcher, built)
        known = {sha: build for sha, build in built.items() if sha not in missing}
        episodes = episodes_by_commit(histories.values(), matcher.provenance_of)
        texts: Iterable[tuple[CommitSha, str]] = (
            (f.commit, f.text(full=True))
            for f in commit_facts(self.history.ancestry(known), episodes, known)
            if (wanted is None or f.commit in wanted) and (f.episodes or f.first_build or f.build)
        )
        tree = NotesTree(self.paths)
        if only:
            fresh = dict(texts)
            existing = tree.read(fresh)
            texts = ((sha, merged_note(existing.get(sha), text, only)) for sha, text in fresh.items())
        update = tree.compare(texts)
        changed = update.write(command="notes", progress=self.progress("Writing notes", len(update.changed)))
        return changed, update.compared

    def _keep(self, resource: _T) -> _T:
        self._closers.append(resource)
        return resource

    def abandon(self) -> None:
        """Leave whatever was opened to the process's end: a worker that gave up waiting may still use it."""
        self._closers.clear()

    def close(self) -> None:
        """Say how old the Kosli data read was, when past kosli.fetch.maxAge; close what was opened, newest first."""
        notice = self.take_old_data_notice()
        if notice is not None:
            click.echo(f"warning: {notice}", err=True)
        while self._closers:
            self._closers.pop().close()  # type: ignore[attr-defined]


def _needs_config_file(settings: KosliSettings) -> bool:
    """Whether Kosli will be read with its org or token set nowhere but (perhaps) in the config file."""
    chosen = settings.get("source")
    reading_kosli = chosen == "kosli" or (chosen is None and settings.org is not None)
    return reading_kosli and (settings.org is None or settings.get("api-token") is None)


pass_app = click.make_pass_decorator(AppContext)
