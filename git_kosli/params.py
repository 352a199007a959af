"""click parameter types and shared options: strings become domain values once, at the edge."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from git_kosli.snapshot_expr import SnapshotExpr, parse

_F = TypeVar("_F", bound=Callable[..., Any])


class SnapshotExprType(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    """A Kosli snapshot expression (`aws-beta#41`, `aws-beta~1`, `aws-beta@{2.days.ago}`)."""

    name = "SNAPSHOT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> SnapshotExpr:
        if not isinstance(value, str):
            return value  # type: ignore[no-any-return]
        return parse(value)  # a SnapshotExprError is a usage error with one clear line


SNAPSHOT = SnapshotExprType()


def json_option(command: _F) -> _F:
    """`--json`: one JSON document on stdout instead of text for people (passed as `as_json`)."""
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of text.")(command)


def env_option(command: _F) -> _F:
    """`--env ENV`, repeatable: only these environments (passed as `envs`)."""
    return click.option("--env", "envs", multiple=True, metavar="ENV", help="Only this environment (repeatable).")(
        command
    )
