"""`git kosli status` and the pre-push hook's lines: what each environment runs against a revision. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from git_kosli.deployments import EnvStatus, Running
from git_kosli.model import short
from git_kosli.pairing import flows_to_show
from git_kosli.views.diff import flag_words
from git_kosli.views.json import artifact_json, document, shown_json, snapshot_json
from git_kosli.views.text import age, fetch_hint, table


def flags(status: EnvStatus, running: Running | None) -> list[str]:  # the words, unmarked: the hook prints them
    """The warnings of one environment line: `rogue`, `non-compliant`, `not-contained`."""
    out = ["rogue"] if status.rogue else []
    out += ["non-compliant"] if status.non_compliant else []
    out += ["not-contained"] if running is not None and running.contained is False else []
    return out


def _missing(statuses: Sequence[EnvStatus]) -> list[str]:
    return list(dict.fromkeys(r.commit for s in statuses for r in s.running if not r.fetched))


def status_table(statuses: Sequence[EnvStatus], revision: str, *, shallow: bool = False) -> str:
    """One row per running commit of this repository (or one for an environment that runs none).

    A running commit this clone lacks reads `not fetched`, and a closing `hint:` line says what to fetch.
    """
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
                    "not fetched" if r.behind is None else str(r.behind),
                    "?" if r.ahead is None else str(r.ahead),
                    f"#{r.since.index} ({age(r.since.timestamp)})",
                    flag_words(flags(s, r)),
                ]
            )
    text = table(rows, ["environment", "snapshot", "running", f"behind {revision}", "ahead", "since", "flags"])
    hint = fetch_hint(_missing(statuses), shallow=shallow)
    return text if hint is None else f"{text}\n\n{hint}"


def status_json(revision: str, commit: str, statuses: Sequence[EnvStatus]) -> str:
    """The `git kosli status --json` document; `revision` as given, `commit` what it names."""
    return document(
        revision=revision,
        git_commit=commit,
        environments=[_environment(s) for s in statuses],
        missing_commits=_missing(statuses),
    )


def _environment(s: EnvStatus) -> dict[str, Any]:
    shown = dict(zip(s.latest.artifacts, flows_to_show(s.latest), strict=True)) if s.latest else {}
    return {
        "environment": s.env,
        "snapshot": snapshot_json(s.latest),
        "running": [
            {
                **artifact_json(r.artifact, r.commit, r.flow),
                "status": "unknown" if not r.fetched else ("contained" if r.contained else "not-contained"),
                "behind": r.behind,
                "ahead": r.ahead,
                "contained": r.contained,
                "since": snapshot_json(r.since),
            }
            for r in s.running
        ],
        "rogue": [artifact_json(a, None, None) for a in s.rogue],
        "non_compliant": [shown_json(a, shown.get(a)) for a in s.non_compliant],
        "missing_commits": _missing([s]),
    }


def push_lines(statuses: Sequence[EnvStatus], name: str, *, shallow: bool = False) -> list[str]:
    """The hook's line per running commit: `kosli: ENV#N runs SHA: NAME is A ahead, B behind [flags]`.

    A running commit this clone lacks: `kosli: ENV#N runs SHA: not fetched here; run 'git fetch'`.
    """
    lines = []
    fetch = "git fetch --unshallow" if shallow else "git fetch"
    for s in statuses:
        for r in s.running:
            extra = " ".join(flags(s, r))
            counts = (
                f"{name} is {r.behind} ahead, {r.ahead} behind" if r.fetched else f"not fetched here; run '{fetch}'"
            )
            lines.append(
                f"kosli: {s.env}#{s.latest.index if s.latest else '?'} runs {short(r.commit)}: {counts}"
                + (f" [{extra}]" if extra else "")
            )
    return lines
