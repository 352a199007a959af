"""`git kosli status` and the pre-push hook's lines: what each environment runs against a revision. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from git_kosli.deployments import EnvStatus, Running
from git_kosli.model import short
from git_kosli.views.diff import flag_words
from git_kosli.views.json import artifact_json, document, snapshot_json
from git_kosli.views.text import age, table


def flags(status: EnvStatus, running: Running | None) -> list[str]:  # the words, unmarked: the hook prints them
    """The warnings of one environment line: `rogue`, `non-compliant`, `not-contained`."""
    out = ["rogue"] if status.rogue else []
    out += ["non-compliant"] if status.non_compliant else []
    out += ["not-contained"] if running is not None and not running.contained else []
    return out


def status_table(statuses: Sequence[EnvStatus], revision: str) -> str:
    """One row per running commit of this repository (or one for an environment that runs none)."""
    rows = []
    for s in statuses:
        snapshot = f"#{s.latest.index}" if s.latest else "-"
        if not s.running:
            rows.append([s.env, snapshot, "-", "-", "-", "-", flag_words(flags(s, None))])
        for r in s.running:
            rows.append(
                [
                    s.env,
                    snapshot,
                    f"{short(r.commit)} {r.artifact.display_name}",
                    str(r.behind),
                    str(r.ahead),
                    f"#{r.since.index} ({age(r.since.timestamp)})",
                    flag_words(flags(s, r)),
                ]
            )
    return table(rows, ["environment", "snapshot", "running", f"behind {revision}", "ahead", "since", "flags"])


def status_json(revision: str, commit: str, statuses: Sequence[EnvStatus]) -> str:
    """The `git kosli status --json` document; `revision` as given, `commit` what it names."""
    return document(revision=revision, git_commit=commit, environments=[_environment(s) for s in statuses])


def _environment(s: EnvStatus) -> dict[str, Any]:
    return {
        "environment": s.env,
        "snapshot": snapshot_json(s.latest),
        "running": [
            {
                **artifact_json(r.artifact, r.commit),
                "behind": r.behind,
                "ahead": r.ahead,
                "contained": r.contained,
                "since": snapshot_json(r.since),
            }
            for r in s.running
        ],
        "rogue": [artifact_json(a) for a in s.rogue],
        "non_compliant": [artifact_json(a) for a in s.non_compliant],
    }


def push_lines(statuses: Sequence[EnvStatus], name: str) -> list[str]:
    """The hook's line per running commit: `kosli: ENV#N runs SHA: NAME is A ahead, B behind [flags]`."""
    lines = []
    for s in statuses:
        for r in s.running:
            extra = " ".join(flags(s, r))
            lines.append(
                f"kosli: {s.env}#{s.latest.index if s.latest else '?'} runs {short(r.commit)}: {name} is "
                f"{r.behind} ahead, {r.ahead} behind" + (f" [{extra}]" if extra else "")
            )
    return lines
