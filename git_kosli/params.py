"""click parameter types and shared options: strings become domain values once, at the edge."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import click

from git_kosli.errors import UsageError
from git_kosli.model import Fingerprint, clean_text, is_fingerprint
from git_kosli.snapshot_expr import SnapshotExpr, is_env_name, parse

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


class EnvNameType(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    """An environment name as Kosli allows one: checked here, so no other string reaches a request or a ref."""

    name = "ENV"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if not isinstance(value, str) or not is_env_name(value):
            raise UsageError(
                f"'{clean_text(str(value))}' is not an environment name: Kosli names start with a letter or digit, "
                "then letters, digits, '.', '-' or '_'"
            )
        return value


ENV = EnvNameType()


def env_option(command: _F) -> _F:
    """`--env ENV`, repeatable: only these environments (passed as `envs`)."""
    return click.option(
        "--env", "envs", type=ENV, multiple=True, metavar="ENV", help="Only this environment (repeatable)."
    )(command)


_ARTIFACT_SPEC = re.compile(r"^(?P<name>[^=]+)=(?P<fingerprint>[^@]+)(?:@(?P<commit>.+))?$")


class ArtifactSpec(NamedTuple):
    """`NAME=FINGERPRINT[@COMMIT]` as `snapshot record --artifact` and `build record` take it."""

    name: str
    fingerprint: Fingerprint
    commitish: str | None

    @property
    def default_flow(self) -> str:
        """The flow when none is named: the name before ':' or '@' (`runner` for `runner:1.2`)."""
        return re.split(r"[:@]", self.name)[0]


def artifact_spec(option: str, spec: str, flow: str | None = None) -> ArtifactSpec:
    """Parse `NAME=FINGERPRINT[@COMMIT]` (reported to `flow`); `option` names the option in the error.

    Raises:
        UsageError: the form is wrong, a name or the flow holds control characters, or the
            fingerprint is not a SHA-256.
    """
    match = _ARTIFACT_SPEC.match(spec)
    if not match:
        raise UsageError(f"invalid {option} '{clean_text(spec)}': expected NAME=FINGERPRINT[@COMMIT]")
    if clean_text(match["name"]) != match["name"] or clean_text(flow or "") != (flow or ""):
        raise UsageError(f"invalid {option} '{clean_text(spec)}': a name or flow cannot hold control characters")
    fingerprint = match["fingerprint"].lower()
    if not is_fingerprint(fingerprint):
        raise UsageError(f"invalid {option} '{spec}': the fingerprint must be 64 hex digits (a SHA-256)")
    return ArtifactSpec(match["name"], Fingerprint(fingerprint), match["commit"])
