"""click parameter types: strings become domain values once, at the edge."""

from __future__ import annotations

from typing import Any

import click

from git_kosli.snapshot_expr import SnapshotExpr, parse


class SnapshotExprType(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    """A Kosli snapshot expression (`aws-beta#41`, `aws-beta~1`, `aws-beta@{2.days.ago}`)."""

    name = "SNAPSHOT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> SnapshotExpr:
        if not isinstance(value, str):
            return value  # type: ignore[no-any-return]
        return parse(value)  # a SnapshotExprError is a usage error with one clear line


SNAPSHOT = SnapshotExprType()
