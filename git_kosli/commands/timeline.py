"""`git kosli timeline [ENV...]`: a picture of what ran where, when, as one self-contained HTML file."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from git_kosli.context import AppContext, pass_app
from git_kosli.errors import KosliError, UsageError
from git_kosli.files import write_atomically
from git_kosli.params import ENV

if TYPE_CHECKING:
    from git_kosli.runs import Run
    from git_kosli.views.timeline import Mark

HEADROOM = 0.04  # room after the latest snapshot, so a run still going shows as one
MIN_SPAN = 3600.0  # one snapshot alone is drawn over an hour


@click.command()
@click.argument("envs", nargs=-1, type=ENV, metavar="[ENV]...")
@click.option("--since", "since", metavar="WHEN", help="Start here: YYYY-MM-DD[THH:MM:SS] (UTC) or N.days.ago.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the page to FILE.")
@click.option("--mark", "marks", multiple=True, metavar="TIME[=LABEL]", help="Mark a moment (the incident).")
@click.option("--open", "open_", is_flag=True, help="Open the page in the browser.")
@pass_app
def timeline(
    app: AppContext, envs: tuple[str, ...], since: str | None, output: Path | None, marks: tuple[str, ...], open_: bool
) -> None:
    """Draw what ran where, when: a lane per environment (all by default), in one HTML file that opens offline.

    Each run of snapshots of this repository's artifact is a bar labelled with its short commit;
    rollbacks and non-compliant builds have their colours, rogue and non-compliant artifacts of any
    repository a marker; hovering a bar shows the artifact, the snapshots, the commit's subject and how
    many commits it brought. `--mark 2026-10-02T05:00:00=outage` draws the incident. Without -o the page
    goes to stdout, or with --open into the repository's git dir (kosli/timeline.html).
    """
    from git_kosli.pairing import require_this_repository
    from git_kosli.runs import flagged, runs
    from git_kosli.snapshot_expr import parse_time
    from git_kosli.sources import load_histories, utc_now
    from git_kosli.views.timeline import Picture, timeline_html

    now = utc_now()
    start = parse_time(since, now).timestamp() if since else None
    moments = [_mark(text, now) for text in marks]
    histories = load_histories(app.source, envs)
    matcher = app.matcher_for(histories)
    require_this_repository(histories, matcher)
    lanes = {env: runs(history, matcher.provenance_of) for env, history in histories.items()}
    flags = {env: flagged(history) for env, history in histories.items()}
    here = app.history.has_commit
    every = [run for lane in lanes.values() for run in lane]
    pairs = [(r.previous, r.commit) for r in every if r.previous and here(r.previous) and here(r.commit)]
    times = [s.timestamp for history in histories.values() for s in history]
    if not times:
        raise KosliError("no snapshots to draw in " + (", ".join(envs) or "any environment"))
    first = start if start is not None else min(times)
    last = max([*times, *(m.when for m in moments)])
    if start is not None and last <= start:
        raise UsageError(f"--since {since} is after the latest snapshot ({datetime.fromtimestamp(last, UTC):%Y-%m-%d})")
    picture = Picture(
        title=f"What ran where: {_names(every)} in {', '.join(histories)}",
        lanes=lanes,
        flags=flags,
        subjects=app.history.subjects(r.commit for r in every if here(r.commit)),
        counts=app.history.divergences(pairs),
        start=first,
        end=first + max(last - first, MIN_SPAN) * (1 + HEADROOM),
        marks=moments,
    )
    page = timeline_html(picture)
    if output is None and not open_:
        click.echo(page, nl=False)
        return
    target = output or app.paths.worktree_path("kosli") / "timeline.html"
    write_atomically(target, page)  # a link at `target` is replaced, never written through
    click.echo(f"wrote {target}", err=True)
    if open_:
        import webbrowser

        webbrowser.open(target.resolve().as_uri())


def _mark(text: str, now: datetime) -> Mark:
    """`TIME[=LABEL]`, the label `incident` when none is given."""
    from git_kosli.snapshot_expr import parse_time
    from git_kosli.views.timeline import Mark

    when, _, label = text.partition("=")
    return Mark(parse_time(when, now).timestamp(), label or "incident")


def _names(runs: Sequence[Run]) -> str:
    names = sorted({run.artifact.display_name.split(":", 1)[0] for run in runs})
    return ", ".join(names) or "no artifact of this repository"
