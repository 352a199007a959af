"""`git kosli bisect OLD NEW`: start a real `git bisect` between what ran in two snapshots."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from git_kosli.context import AppContext, pass_app
from git_kosli.errors import ExitCode
from git_kosli.params import SNAPSHOT, json_option
from git_kosli.snapshot_expr import SnapshotExpr

if TYPE_CHECKING:
    from git_kosli.bisect.session import Position, Session, Span
    from git_kosli.bisect.state import Phase


class BisectGroup(click.Group):
    """`git kosli bisect OLD NEW` is `git kosli bisect start OLD NEW`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["start", *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The short form first, as people type it: `git kosli bisect OLD NEW`."""
        formatter.write_usage(ctx.command_path, "[OPTIONS] OLD NEW [-- PATHSPEC...]")
        formatter.write_usage(ctx.command_path, "COMMAND [ARGS]...", prefix="   or: ")


class StartCommand(click.Command):
    """`bisect start OLD NEW [-- PATHSPEC...]`: a path comes only after `--`, as with git bisect."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        after_dashes = len(args) - args.index("--") - 1 if "--" in args else 0
        rest = super().parse_args(ctx, args)
        pathspec = list(ctx.params.get("pathspec") or ())
        if len(pathspec) > after_dashes:
            raise click.UsageError(
                f"'{pathspec[0]}' is a third snapshot argument: bisect takes OLD and NEW, and paths only after '--'",
                ctx,
            )
        return rest


@click.group(cls=BisectGroup)
def bisect() -> None:
    """Bisect the commits between what ran in two environment snapshots.

    `git kosli bisect OLD NEW` is `git kosli bisect start OLD NEW`; the other commands go on with it.
    """


@bisect.command("start", cls=StartCommand)
@click.argument("old", type=SNAPSHOT)
@click.argument("new", type=SNAPSHOT)
@click.argument("pathspec", nargs=-1)
@click.option("--artifact", metavar="NAME", help="The artifact (name or flow) to bisect when several changed.")
@click.option("--first-parent", is_flag=True, help="Follow only the first parent of merges (passed to git bisect).")
@click.option("--no-checkout", is_flag=True, help="Do not touch the working tree; git moves BISECT_HEAD instead.")
@click.option(
    "--built-first",
    is_flag=True,
    help="Test commits that produced an artifact first (no build needed), then the unbuilt span.",
)
@json_option
@pass_app
def start(
    app: AppContext,
    old: SnapshotExpr,
    new: SnapshotExpr,
    pathspec: tuple[str, ...],
    artifact: str | None,
    first_parent: bool,
    no_checkout: bool,
    built_first: bool,
    as_json: bool,
) -> int:
    """Start `git bisect` with bad = the commit running in NEW and good = the one in OLD.

    OLD and NEW are snapshot expressions: ENV, ENV#N, ENV~N, ENV@{2.days.ago}.
    Paths after `--` limit the candidates, as with git bisect.
    """
    from git_kosli.bisect.plan import bisect_ends, plan_bisect
    from git_kosli.bisect.state import forget, save
    from git_kosli.git import bisect as git_bisect
    from git_kosli.git.notes import NotesTree
    from git_kosli.views.bisect import bisect_json, bisect_text

    git_bisect.require_no_bisect(app.paths)
    ends = bisect_ends(
        source=app.source,
        history=app.history,
        matcher=app.matcher,
        old_expr=old,
        new_expr=new,
        artifact=artifact,
        first_parent=first_parent,
        pathspec=pathspec,
    )
    good, bad = ends.target.commits()
    starting = git_bisect.begin(  # all that could refuse has been checked; the rest is worked out while git starts
        app.paths,
        bad=bad,
        good=good,
        first_parent=first_parent,
        no_checkout=no_checkout,
        pathspec=pathspec,
    )
    try:  # plan, compare the notes and lay out the table while git checks out; write only once it has started
        plan = plan_bisect(ends, app.history, whole_range=first_parent or bool(pathspec))
        notes = NotesTree(app.paths).compare((f.commit, f.text(full=True)) for f in plan.facts)
        shown = bisect_json(plan) if as_json else bisect_text(plan) + "\n"
    except BaseException:
        starting.abandon()
        raise
    started = starting.wait()
    try:
        notes.write(command="bisect")
        save(app.paths, plan.state(built_first=built_first, first_parent=first_parent, pathspec=pathspec))
        session = _session(app) if built_first else None
        position = session.advance() if session else None
    except BaseException:
        git_bisect.reset(app.paths)  # no half-started bisect
        forget(app.paths)
        raise
    if as_json:
        click.echo(shown)
        click.echo(started.stdout, err=True, nl=False)
    else:
        app.show(shown)
        if session is None or position is None:
            click.echo(started.stdout, nl=False)
        else:
            count = sum(1 for f in plan.facts if f.commit in plan.builds and f.commit != plan.new_commit)
            click.echo(f"Built commits first: {count} of {len(plan.facts)} candidates produced an artifact.")
            click.echo(_position_text(app, session, position))
    return 0


def _session(app: AppContext) -> Session:
    from git_kosli.bisect.session import Session

    return Session(app.paths, app.history.parents)


def _position_text(app: AppContext, session: Session, position: Position) -> str:
    from git_kosli.views.bisect import position_text

    subject = app.history.subjects([position.commit]).get(position.commit, "")
    return position_text(position, subject, build=session.builds.get(position.commit))


def _mark(app: AppContext, verdict: str, revision: str | None) -> None:
    from git_kosli.bisect.session import FIRST_BAD, ONLY_SKIPPED

    session = _session(app)
    commit = app.history.resolve_or_none(revision) if revision else None
    if revision and commit is None:
        from git_kosli.errors import UnknownRevisionError

        raise UnknownRevisionError(f"unknown revision '{revision}'")
    said = session.mark(verdict, commit or _current(app))
    if FIRST_BAD.search(said) or ONLY_SKIPPED in said:
        click.echo(said, nl=False)
        return
    click.echo(_position_text(app, session, session.advance()))


def _current(app: AppContext) -> str:
    from git_kosli.git import bisect as git_bisect

    return git_bisect.current(app.paths)


def _marking(verdict: str, meaning: str) -> click.Command:
    """`git kosli bisect good|bad|skip [REVISION]`: one command per verdict."""

    @click.argument("revision", required=False)
    @pass_app
    def mark(app: AppContext, revision: str | None) -> None:
        _mark(app, verdict, revision)

    help_text = f"Mark the commit under test (or REVISION) {meaning} through git, then move to the next one."
    return click.command(verdict, help=help_text)(mark)


for _verdict, _meaning in (("good", "good"), ("bad", "bad"), ("skip", "untestable")):
    bisect.add_command(_marking(_verdict, _meaning))


@bisect.command("next")
@pass_app
def next_(app: AppContext) -> None:
    """Move to the next commit to test: the best built one while any is left, then git's own choice.

    Use it after marking with plain `git bisect good|bad`, which knows nothing of builds.
    """
    session = _session(app)
    click.echo(_position_text(app, session, session.advance()))


@bisect.command("view")
@pass_app
def view(app: AppContext) -> None:
    """Show the remaining candidates with where they ran, the commit under test, and the phase."""
    from git_kosli.bisect.state import Phase
    from git_kosli.git.notes import read_notes
    from git_kosli.model import short
    from git_kosli.views.text import Style, clip, mark, table

    session = _session(app)
    remaining = session.remaining()
    under_test = _current(app)
    subjects = app.history.subjects(remaining)
    notes = read_notes(app.paths, remaining)
    rows = [
        [
            "*" if sha == under_test else "",
            short(sha),
            "yes" if sha in session.builds else "",
            clip(subjects.get(sha, ""), 50),
            notes.get(sha, ""),
        ]
        for sha in remaining
    ]
    phase = "built commits first" if session.phase is Phase.BUILT else "unbuilt commits (git bisect)"
    ends = f"{mark(session.state.old, Style.SNAPSHOT)} -> {mark(session.state.new, Style.SNAPSHOT)}"
    header = f"{ends}: {len(remaining)} commits left, phase: {phase}"
    app.show(header + "\n\n" + table(rows, ["", "commit", "built", "subject", "deployments"]), long=True)


bisect.add_command(view, "status")


@bisect.command("reset")
@click.argument("commit", required=False)
@pass_app
def reset(app: AppContext, commit: str | None) -> None:
    """End the bisect (git bisect reset [COMMIT]) and forget git kosli's own state of it.

    When git cannot end it (a bad COMMIT, a locked index), git's words are reported and both
    git's bisect and git kosli's state of it are left as they were.
    """
    from git_kosli.bisect.state import forget
    from git_kosli.errors import GitCommandError, UnknownRevisionError
    from git_kosli.git import bisect as git_bisect

    if commit is not None and (commit.startswith("-") or app.history.resolve_or_none(commit) is None):
        raise UnknownRevisionError(f"unknown revision '{commit}': not a commit in this repository")
    was_bisecting = git_bisect.bisect_start_file(app.paths).exists()
    result = git_bisect.reset(app.paths, commit)
    if result.returncode != 0 or git_bisect.bisect_start_file(app.paths).exists():
        said = git_bisect.git_words(result) or f"it exited {result.returncode}"
        raise GitCommandError(f"git bisect reset failed: {said}; the bisect goes on, git kosli's state of it is kept")
    forget(app.paths)
    said = (result.stdout + result.stderr).strip()
    if not said and was_bisecting:
        said = "bisect ended" + (": BISECT_HEAD removed (a bare repository has no work tree)" if app.paths.bare else "")
    click.echo(said or "no bisect in progress")


@bisect.command("run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option(
    "--deployed",
    is_flag=True,
    help="While testing builds, give CMD the artifact (KOSLI_* variables) to deploy instead of a checkout.",
)
@click.option("--verify", is_flag=True, help="First check that CMD says the old end is good and the new end bad.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@pass_app
def run(app: AppContext, deployed: bool, verify: bool, command: tuple[str, ...]) -> int:
    """Run CMD at each step, as git bisect run: exit 0 good, 125 skip, 1-127 bad, 128 or more stops.

    With --deployed, CMD gets KOSLI_ARTIFACT_NAME, KOSLI_FINGERPRINT, KOSLI_FLOW and KOSLI_GIT_COMMIT
    while built commits are tested. Ends with the culprit, where it ran, and the steps of each phase.
    """
    from git_kosli.bisect.state import Phase
    from git_kosli.model import short
    from git_kosli.views.bisect import span_text

    session = _session(app)

    def step(phase: Phase, commit: str, verdict: str) -> None:
        click.echo(f"{phase} step: {short(commit)} is {verdict}")

    def narrowed(span: Span) -> None:
        click.echo(span_text(span))

    outcome = session.run(command, deployed=deployed, on_step=step, on_span=narrowed, verify=verify)
    click.echo(f"steps: {outcome.steps[Phase.BUILT]} on builds, {outcome.steps[Phase.UNBUILT]} on unbuilt commits")
    if outcome.culprit is None:
        click.echo("the first bad commit could be any of: " + " ".join(short(s) for s in outcome.suspects))
        return ExitCode.NO
    from git_kosli.git.notes import read_notes

    subject = app.history.subjects([outcome.culprit]).get(outcome.culprit, "")
    where = read_notes(app.paths, [outcome.culprit]).get(outcome.culprit, "never deployed")
    click.echo(f"culprit: {outcome.culprit} {subject}")
    click.echo("\n".join(f"  {line}" for line in where.splitlines()))
    return 0
