"""Kosli's snapshot expressions ("snappishes"): parse them, and resolve them against a history.

Grammar (Kosli CLI `kosli get snapshot`, environment names as Kosli allows them)::

    expr   := ENV [ '#' INT | '~' DIGITS | '@{' when '}' ]
    ENV    := [a-zA-Z0-9][a-zA-Z0-9._-]*
    INT    := N | '-' N                 N >= 1; '#-1' is the latest, '#-2' the one before
    DIGITS := N >= 0                    '~0' is the latest, '~1' the one before
    when   := 'now'
            | YYYY-MM-DD 'T' HH:MM:SS    UTC
            | N '.' UNIT '.ago'          UNIT: hours, days, weeks, months (singular too)

Parsing is pure and reports the 1-based column of the first error. Resolution is
pure too: it takes the environment's snapshot numbers and start times.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from git_kosli.errors import SnapshotExprError, SnapshotNotFoundError, UsageError
from git_kosli.model import ENV_NAME_PATTERN, EnvName, SnapshotSummary

UNITS = ("hours", "days", "weeks", "months")
_ENV_PREFIX = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9.\-_]*")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
_AGO = re.compile(r"^(\d+)\.([a-z]+)\.ago$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Latest:
    """`ENV`: the latest snapshot when asked."""

    env: EnvName

    def __str__(self) -> str:
        return self.env


@dataclass(frozen=True)
class Numbered:
    """`ENV#N`: snapshot N from the start (N > 0) or from the end (N < 0, -1 = latest)."""

    env: EnvName
    number: int

    def __str__(self) -> str:
        return f"{self.env}#{self.number}"


@dataclass(frozen=True)
class Behind:
    """`ENV~N`: N snapshots behind the latest."""

    env: EnvName
    steps: int

    def __str__(self) -> str:
        return f"{self.env}~{self.steps}"


@dataclass(frozen=True)
class AtTime:
    """`ENV@{YYYY-MM-DDTHH:MM:SS}`: the snapshot current at an instant (UTC)."""

    env: EnvName
    when: datetime

    def __str__(self) -> str:
        return f"{self.env}@{{{self.when.replace(tzinfo=None).isoformat(timespec='seconds')}}}"  # year 1 as 0001


@dataclass(frozen=True)
class Ago:
    """`ENV@{N.UNIT.ago}`: the snapshot current N units before now."""

    env: EnvName
    amount: int
    unit: str  # one of UNITS

    def __str__(self) -> str:
        return f"{self.env}@{{{self.amount}.{self.unit}.ago}}"


@dataclass(frozen=True)
class Now:
    """`ENV@{now}`: the snapshot current now, which is the latest."""

    env: EnvName

    def __str__(self) -> str:
        return f"{self.env}@{{now}}"


SnapshotExpr = Latest | Numbered | Behind | AtTime | Ago | Now


def parse(text: str) -> SnapshotExpr:
    """Parse a snapshot expression.

    Raises:
        SnapshotExprError: naming the expression, the column and what is wrong.
    """
    match = _ENV_PREFIX.match(text)
    if not match:
        reason = (
            "environment name is missing"
            if not text or text[0] in "#~@"
            else ("an environment name starts with a letter or digit")
        )
        raise SnapshotExprError(text, 1, reason)
    env = EnvName(match.group())
    rest = text[match.end() :]
    column = match.end() + 1
    if not rest:
        return Latest(env)
    marker, body = rest[0], rest[1:]
    if marker == "#":
        return Numbered(env, _snapshot_number(text, column + 1, body))
    if marker == "~":
        if not body.isdigit() or not body.isascii():
            raise SnapshotExprError(text, column + 1, "'~' takes a number of snapshots, like ~1")
        return Behind(env, int(body))
    if marker == "@":
        return _parse_at(text, env, column, body)
    raise SnapshotExprError(
        text, column, f"'{marker}' is not allowed in an environment name; use ENV, ENV#N, ENV~N or ENV@{{...}}"
    )


def _snapshot_number(text: str, column: int, body: str) -> int:
    digits = body[1:] if body.startswith("-") else body
    if not digits.isdigit() or not digits.isascii():
        raise SnapshotExprError(text, column, "'#' takes a snapshot number, like #41 or #-1")
    number = int(body)
    if number == 0:
        raise SnapshotExprError(text, column, "snapshot numbers start at 1 (#-1 is the latest)")
    return number


def _parse_at(text: str, env: EnvName, column: int, body: str) -> SnapshotExpr:
    if not body.startswith("{") or not body.endswith("}") or len(body) < 2:
        raise SnapshotExprError(text, column + 1, "'@' takes a time in braces, like @{now} or @{2.days.ago}")
    inner = body[1:-1]
    inner_column = column + 2
    if inner == "now":
        return Now(env)
    if _TIMESTAMP.match(inner):
        try:
            when = datetime.strptime(inner, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            raise SnapshotExprError(text, inner_column, f"'{inner}' is not a valid date and time") from None
        return AtTime(env, when)
    ago = _AGO.match(inner)
    if ago:
        unit = ago.group(2) if ago.group(2).endswith("s") else ago.group(2) + "s"
        if unit not in UNITS:
            raise SnapshotExprError(
                text, inner_column + len(ago.group(1)) + 1, f"unknown unit '{ago.group(2)}'; use {', '.join(UNITS)}"
            )
        if int(ago.group(1)) == 0:
            raise SnapshotExprError(text, inner_column, "the amount of time ago must be at least 1")
        return Ago(env, int(ago.group(1)), unit)
    raise SnapshotExprError(
        text, inner_column, "expected now, YYYY-MM-DDTHH:MM:SS (UTC) or N.hours|days|weeks|months.ago"
    )


def parse_time(text: str, now: datetime) -> datetime:
    """A moment as `@{...}` writes one: `now`, `YYYY-MM-DDTHH:MM:SS` (UTC), `YYYY-MM-DD` or `N.unit.ago`.

    Raises:
        UsageError: naming the text and the forms accepted.
    """
    when = f"{text}T00:00:00" if _DATE.match(text) else text
    try:
        expr = _parse_at(f"x@{{{when}}}", EnvName("x"), 2, f"{{{when}}}")
    except SnapshotExprError:
        raise UsageError(
            f"invalid time '{text}': expected now, YYYY-MM-DD[THH:MM:SS] (UTC) or N.hours|days|weeks|months.ago"
        ) from None
    return instant(expr, now) if isinstance(expr, AtTime | Ago) else now


def is_env_name(text: str) -> bool:
    """True when Kosli would accept `text` as an environment name."""
    return bool(ENV_NAME_PATTERN.match(text))


def instant(expr: AtTime | Ago, now: datetime) -> datetime:
    """The moment a time expression points at, given the current time (the first instant a date has, at most)."""
    if isinstance(expr, AtTime):
        return expr.when
    try:
        if expr.unit == "months":
            return _months_before(now, expr.amount)
        return now - timedelta(**{expr.unit: expr.amount})
    except (OverflowError, ValueError):  # `99999999999.days.ago`: before any date, so before any snapshot
        return datetime.min.replace(tzinfo=UTC)


def _months_before(now: datetime, months: int) -> datetime:
    month_index = now.year * 12 + now.month - 1 - months
    year, month = divmod(month_index, 12)
    if year < 1:
        raise OverflowError("before the year 1")
    day = now.day
    while True:
        try:
            return now.replace(year=year, month=month + 1, day=day)
        except ValueError:
            day -= 1  # 31 March minus one month is 28/29 February


def resolve_index(expr: SnapshotExpr, history: Sequence[SnapshotSummary], now: datetime) -> int:
    """The snapshot number an expression names, given the environment's snapshots oldest first.

    Raises:
        SnapshotNotFoundError: when the expression points before the first snapshot or past the last.
    """
    latest = history[-1].index if history else 0
    if latest == 0:
        raise SnapshotNotFoundError(f"environment '{expr.env}' has no snapshots yet")
    count = f"'{expr.env}' has {len(history)} snapshot{'s' if len(history) != 1 else ''} ({_held(history)})"
    if isinstance(expr, Latest | Now):
        return latest
    if isinstance(expr, Numbered | Behind):
        if isinstance(expr, Numbered):
            index = expr.number if expr.number > 0 else latest + 1 + expr.number
        else:
            index = latest - expr.steps
        if not 1 <= index <= latest or index not in {s.index for s in history}:
            raise SnapshotNotFoundError(f"snapshot {expr} does not exist: {count}")
        return index
    moment = instant(expr, now).timestamp()
    position = bisect_right([s.timestamp for s in history], moment)
    if position == 0:
        first = datetime.fromtimestamp(history[0].timestamp, UTC).replace(tzinfo=None).isoformat(timespec="seconds")
        raise SnapshotNotFoundError(f"no snapshot of '{expr.env}' at {expr}: its first snapshot is from {first}Z")
    return history[position - 1].index


def _held(history: Sequence[SnapshotSummary]) -> str:
    """The numbers there are, as runs: `#1..#40`, or `#3` and `#7..#9` when some were never imported."""
    runs: list[list[int]] = []
    for summary in history:
        if runs and summary.index == runs[-1][1] + 1:
            runs[-1][1] = summary.index
        else:
            runs.append([summary.index, summary.index])
    return ", ".join(f"#{a}..#{b}" if a != b else f"#{a}" for a, b in runs)
