"""`git kosli timeline`: runs of snapshots as a picture, checked as data, as HTML and as pixels in a real browser."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import pytest

from bench import synthetic
from git_kosli import demo as world
from git_kosli.runs import flagged, runs
from git_kosli.views.timeline import COLOURS, LABEL_CHAR, LABEL_PAD
from tests.browser import chromium_or_none, hex_colour, read_png, screenshot
from tests.conftest import RunCli
from tests.factory import artifact, history
from tests.gitrepo import GitRepo
from tests.kosli_server import KosliServer

INCIDENT = "2026-10-02T05:00:00=aws-beta broke"


def test_runs_group_snapshots_by_commit_and_know_what_came_before() -> None:
    a, b = "a" * 40, "b" * 40
    miner = artifact(None, "miner", compliant=False)
    snapshots = history("prod", [[artifact(a)], [artifact(a)], [artifact(b), miner], [artifact(a), miner], []])

    found = runs(snapshots, lambda art: art.provenance[0] if art.provenance else None)
    marks = flagged(snapshots)

    assert [(r.commit, r.snapshots, r.previous, r.end) for r in found] == [
        (a, "prod#1..#2", None, snapshots[2].timestamp),
        (b, "prod#3", a, snapshots[3].timestamp),
        (a, "prod#4", b, snapshots[4].timestamp),
    ]
    assert [(m.kind, m.first.index, m.end) for m in marks] == [
        ("non-compliant", 3, snapshots[4].timestamp),
        ("rogue", 3, snapshots[4].timestamp),
    ]


@pytest.fixture
def demo_page(tmp_path: Path, run_cli: RunCli) -> Path:
    built = world.build(tmp_path / "demo")
    page = tmp_path / "timeline.html"
    result = run_cli("timeline", "-o", str(page), "--mark", INCIDENT, cwd=built.path)
    assert result.exit_code == 0, result.stderr
    return page


def test_the_page_is_self_contained_and_tells_each_run(demo_page: Path) -> None:
    page = demo_page.read_text()

    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script|<link|<img|@import|url\(|src=|href=", page)
    assert page.count('<g class="lane"') == 2
    assert re.search(r'data-env="aws-beta".*data-env="aws-prod"', page, re.S)
    assert f'fill="{COLOURS["rollback"]}"' in page
    assert "rollback: took out 4 commits of 77b90f3" in page
    assert "aws-beta#6..#7: 2026-10-02T04:30:00Z to still running" in page
    assert "6a29198 Raise the default memory limit\nbrought 7 commits after 154527a" in page
    assert "rogue: xmrig:latest (docker.io/xmrig/xmrig:latest)" in page
    assert "aws-beta broke</text>" in page


def test_without_a_file_the_page_goes_to_stdout_and_bad_times_are_usage_errors(tmp_path: Path, run_cli: RunCli) -> None:
    built = world.build(tmp_path / "demo")

    page = run_cli("timeline", "aws-prod", "--since", "2026-10-01T16:00:00", cwd=built.path)
    bad = run_cli("timeline", "--since", "yesterday", cwd=built.path)
    late = run_cli("timeline", "--since", "2030-01-01", cwd=built.path)

    assert page.exit_code == 0 and page.stdout.startswith("<!DOCTYPE html>")
    assert page.stdout.count('<g class="lane"') == 1
    assert "<title>runner:d509172 (" not in page.stdout  # ran only until 15:30
    assert (bad.exit_code, bad.stderr.splitlines()[0]) == (
        129,
        "error: invalid time 'yesterday': expected now, YYYY-MM-DD[THH:MM:SS] (UTC) or N.hours|days|weeks|months.ago",
    )
    assert late.exit_code == 129


def test_names_from_outside_cannot_break_out_of_the_page(repo: GitRepo, run_cli: RunCli, server: KosliServer) -> None:
    commit = repo.commit("a")
    evil = artifact(commit)._replace(name='r/<script>alert(1)</script>":\x1b[31m')
    server.add(*history("prod", [[evil]]))  # from outside: the store refuses such a name, Kosli's is cleaned
    result = run_cli("timeline", cwd=repo.path)
    page = result.stdout
    assert result.exit_code == 0, result.stderr

    assert "<script" not in page and "\x1b" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;:[31m" in page


def test_three_environments_of_300_snapshots_stay_readable_and_small(tmp_path: Path, run_cli: RunCli) -> None:
    path = tmp_path / "bench"
    synthetic.build(path, 1_500)  # fewer builds than snapshots: the last run lasts
    page = tmp_path / "timeline.html"

    result = run_cli("timeline", "-o", str(page), cwd=path)

    assert result.exit_code == 0, result.stderr
    html = page.read_text()
    assert page.stat().st_size < 1_000_000
    assert html.count('<g class="lane"') == 3
    assert html.count('class="bar"') >= 3 * 200
    labels: dict[str, list[tuple[float, float]]] = {}
    for lane in html.split('<g class="lane"')[1:]:
        for x, y, text in re.findall(r'<text class="sha" x="([\d.]+)" y="([\d.]+)"[^>]*>(\w+)</text>', lane):
            half = (len(text) * LABEL_CHAR + LABEL_PAD) / 2
            labels.setdefault(y, []).append((float(x) - half, float(x) + half))
    assert labels, "some runs are wide enough for their label"
    for spans in labels.values():
        spans.sort()
        assert all(left[1] <= right[0] for left, right in pairwise(spans)), "labels overlap"


def test_open_writes_into_the_git_dir_and_asks_the_browser(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = world.build(tmp_path / "demo")
    seen = tmp_path / "opened"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {seen}\n')
    browser.chmod(0o755)
    monkeypatch.setenv("BROWSER", str(browser))

    result = run_cli("timeline", "--open", cwd=built.path)

    page = built.path / ".git" / "kosli" / "timeline.html"
    assert result.exit_code == 0, result.stderr
    assert page.read_text().startswith("<!DOCTYPE html>")
    for _ in range(50):
        if seen.exists():
            break
        subprocess.run(["sleep", "0.1"], check=True)
    assert seen.read_text().strip() == page.as_uri()


def test_a_symlink_at_the_output_is_replaced_not_written_through(tmp_path: Path, run_cli: RunCli) -> None:
    built = world.build(tmp_path / "demo")
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me\n")
    link = tmp_path / "out.html"
    link.symlink_to(precious)

    result = run_cli("timeline", "-o", str(link), cwd=built.path)

    assert result.exit_code == 0, result.stderr
    assert precious.read_text() == "keep me\n"
    assert not link.is_symlink() and link.read_text().startswith("<!DOCTYPE html>")


@pytest.mark.skipif(
    chromium_or_none() is None, reason="needs Chromium (Debian package 'chromium'); .ci/run installs it"
)
def test_a_browser_shows_a_lane_per_environment_the_rollback_and_the_rogue_marker(
    demo_page: Path, tmp_path: Path
) -> None:
    png = tmp_path / "timeline.png"
    screenshot(demo_page, png, width=1240, height=320)
    image = read_png(png)

    def rows_with(colour: str, x_range: range) -> set[int]:
        want = hex_colour(colour)
        return {y for y in range(image.height) for x in x_range if image.pixel(x, y) == want}

    lane_rows = sorted(rows_with(COLOURS["lane"], range(19, 20)))
    lanes = [[lane_rows[0]]]
    for y in lane_rows[1:]:
        if y == lanes[-1][-1] + 1:
            lanes[-1].append(y)
        else:
            lanes.append([y])
    assert len(lanes) == 2, "a lane per environment"
    beta, prod = (range(lane[0], lane[-1] + 1) for lane in lanes)
    everywhere = range(0, image.width, 2)
    rollback = rows_with(COLOURS["rollback"], everywhere)
    rogue = rows_with(COLOURS["rogue"], everywhere)
    legend_bottom = beta.start
    assert rollback and all(y in prod or y < legend_bottom for y in rollback)
    assert any(y in prod for y in rollback), "the rollback bar is in prod's lane"
    assert any(y in prod or y == prod.start - 1 for y in rogue), "the rogue marker is on prod's lane"
    assert not any(y in beta for y in rogue)
    incident = hex_colour(COLOURS["incident"])
    assert sum(image.pixel(x, y) == incident for x in everywhere for y in beta) >= 10, "the incident line"


def test_the_readme_picture_is_committed() -> None:
    picture = Path(__file__).resolve().parents[1] / "docs" / "timeline.png"
    image = read_png(picture)
    assert image.width >= 1000
    rollback = hex_colour(COLOURS["rollback"])
    assert any(image.pixel(x, y) == rollback for y in range(0, image.height, 3) for x in range(0, image.width, 3))


def test_the_same_picture_from_kosli_and_from_the_store(
    repo: GitRepo, publish: Callable[..., object], run_cli: RunCli
) -> None:
    c = repo.linear(4)
    publish(*history("prod", [[artifact(c[0])], [artifact(c[2])], [artifact(c[1])]]))

    result = run_cli("timeline", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    assert result.stdout.count('class="bar"') == 3
    assert "brought 2 commits after" in result.stdout
    assert f"rollback: took out 1 commit of {c[2][:7]}" in result.stdout
