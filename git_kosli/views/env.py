"""`git kosli env` as text and JSON: each environment, its latest snapshot and what it runs of this repository. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from git_kosli.deployments import EnvStatus, Running
from git_kosli.model import EnvName, short
from git_kosli.views.json import artifact_json, document, snapshot_json
from git_kosli.views.text import age, fetch_hint, table


def env_text(
    statuses: Sequence[EnvStatus], types: Mapping[EnvName, str], *, now: float | None = None, shallow: bool = False
) -> str:
    """A row per environment and running artifact of this repository: type, latest snapshot, its age, HEAD distance.

    A running commit this clone lacks reads `not fetched`, and a closing `hint:` line says what to fetch.
    """
    rows = []
    for s in statuses:
        latest = [f"#{s.latest.index}", age(s.latest.timestamp, now)] if s.latest else ["-", "-"]
        start = [s.env, types.get(s.env) or "-", *latest]
        if not s.running:
            rows.append([*start, "-", "-"])
        rows += [[*start, f"{short(r.commit)} {r.artifact.display_name}", distance(r)] for r in s.running]
    text = table(rows, ["environment", "type", "latest", "age", "running", "from HEAD"])
    hint = fetch_hint(
        list(dict.fromkeys(r.commit for s in statuses for r in s.running if not r.fetched)), shallow=shallow
    )
    return text if hint is None else f"{text}\n\n{hint}"


def distance(running: Running) -> str:
    """`up to date`, `3 behind`, `2 ahead`, `3 behind, 2 ahead` or `not fetched`: the running commit against HEAD."""
    if not running.fetched:
        return "not fetched"
    parts = [f"{n} {word}" for n, word in ((running.behind, "behind"), (running.ahead, "ahead")) if n]
    return ", ".join(parts) or "up to date"


def env_json(head: str, statuses: Sequence[EnvStatus], types: Mapping[EnvName, str]) -> str:
    """The `git kosli env --json` document."""
    return document(
        head={"git_commit": head},
        environments=[
            {
                "environment": s.env,
                "type": types.get(s.env) or None,
                "snapshot": snapshot_json(s.latest),
                "running": [
                    {
                        **artifact_json(r.artifact, r.commit, r.flow),
                        "since": snapshot_json(r.since),
                        "behind": r.behind,
                        "ahead": r.ahead,
                    }
                    for r in s.running
                ],
            }
            for s in statuses
        ],
    )
