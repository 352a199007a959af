"""Kosli's snapshot grammar: every form parses, every mistake names its column, resolution is exact."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from git_kosli.errors import SnapshotExprError, SnapshotNotFoundError
from git_kosli.model import EnvName, SnapshotSummary
from git_kosli.snapshot_expr import Ago, AtTime, Behind, Latest, Now, Numbered, parse, resolve_index


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("aws-beta", Latest(EnvName("aws-beta"))),
        ("aws-beta#40", Numbered(EnvName("aws-beta"), 40)),
        ("aws-beta#-1", Numbered(EnvName("aws-beta"), -1)),
        ("aws-beta~3", Behind(EnvName("aws-beta"), 3)),
        ("aws-beta~0", Behind(EnvName("aws-beta"), 0)),
        ("aws-beta@{2023-10-02T12:00:00}", AtTime(EnvName("aws-beta"), datetime(2023, 10, 2, 12, tzinfo=UTC))),
        ("aws-beta@{2.hours.ago}", Ago(EnvName("aws-beta"), 2, "hours")),
        ("aws-beta@{1.day.ago}", Ago(EnvName("aws-beta"), 1, "days")),
        ("aws-beta@{3.weeks.ago}", Ago(EnvName("aws-beta"), 3, "weeks")),
        ("aws-beta@{6.months.ago}", Ago(EnvName("aws-beta"), 6, "months")),
        ("aws-beta@{now}", Now(EnvName("aws-beta"))),
        ("prod.eu_1", Latest(EnvName("prod.eu_1"))),
    ],
)
def test_every_form_parses(text: str, expected: object) -> None:
    assert parse(text) == expected
    assert str(parse(text)) == (text if text != "aws-beta@{1.day.ago}" else "aws-beta@{1.days.ago}")


@pytest.mark.parametrize(
    ("text", "column", "reason"),
    [
        ("", 1, "environment name is missing"),
        ("#12", 1, "environment name is missing"),
        ("~1", 1, "environment name is missing"),
        ("-prod", 1, "starts with a letter or digit"),
        ("prod#", 6, "'#' takes a snapshot number"),
        ("prod#abc", 6, "'#' takes a snapshot number"),
        ("prod#0", 6, "start at 1"),
        ("prod#2#3", 6, "'#' takes a snapshot number"),
        ("prod~x", 6, "'~' takes a number"),
        ("prod~-1", 6, "'~' takes a number"),
        ("prod@now", 6, "time in braces"),
        ("prod@{yesterday}", 7, "expected now"),
        ("prod@{2.years.ago}", 9, "unknown unit 'years'"),
        ("prod@{0.days.ago}", 7, "at least 1"),
        ("prod@{2023-02-30T00:00:00}", 7, "not a valid date"),
        ("prod$x", 5, "'$' is not allowed"),
    ],
)
def test_mistakes_name_the_expression_and_column(text: str, column: int, reason: str) -> None:
    with pytest.raises(SnapshotExprError) as caught:
        parse(text)
    assert caught.value.column == column
    assert reason in caught.value.message
    assert f"'{text}'" in caught.value.message
    assert "\n" not in caught.value.message


HISTORY = [SnapshotSummary(i, 1000.0 * i) for i in range(1, 6)]  # #1 at t=1000 ... #5 at t=5000
NOW = datetime.fromtimestamp(9000, UTC)


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("e", 5),
        ("e@{now}", 5),
        ("e#2", 2),
        ("e#-1", 5),
        ("e#-5", 1),
        ("e~0", 5),
        ("e~4", 1),
        ("e@{1970-01-01T00:50:00}", 3),  # t=3000 exactly: #3 starts then
        ("e@{1970-01-01T00:49:59}", 2),
        ("e@{2.hours.ago}", 1),  # 9000 - 7200 = 1800
    ],
)
def test_resolution_against_a_history(text: str, index: int) -> None:
    assert resolve_index(parse(text), HISTORY, NOW) == index


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("e#6", "snapshot e#6 does not exist: 'e' has 5 snapshots (#1..#5)"),
        ("e#-6", "does not exist: 'e' has 5 snapshots"),
        ("e~5", "does not exist: 'e' has 5 snapshots"),
        ("e@{1970-01-01T00:10:00}", "its first snapshot is from 1970-01-01T00:16:40Z"),
    ],
)
def test_out_of_range_says_how_many_snapshots_exist(text: str, message: str) -> None:
    with pytest.raises(SnapshotNotFoundError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve_index(parse(text), HISTORY, NOW)


def test_an_environment_without_snapshots_says_so() -> None:
    with pytest.raises(SnapshotNotFoundError, match="'e' has no snapshots yet"):
        resolve_index(parse("e"), [], NOW)


def test_months_ago_is_calendar_months() -> None:
    history = [
        SnapshotSummary(1, datetime(2026, 2, 27, tzinfo=UTC).timestamp()),
        SnapshotSummary(2, datetime(2026, 3, 1, tzinfo=UTC).timestamp()),
    ]
    now = datetime(2026, 3, 31, 12, tzinfo=UTC)  # one month earlier is 28 February (clamped)
    assert resolve_index(parse("e@{1.months.ago}"), history, now) == 1
