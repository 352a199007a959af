"""Kosli's recorded snapshots (tests/fixtures), reshaped as real data varies: flows in other orders, our commits."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
ORG_URL = "https://github.com/cyber-dojo"


def recorded(name: str) -> dict[str, Any]:
    """A real Kosli response (see tests/fixtures/README.md)."""
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return body


def service(artifact: dict[str, Any]) -> str:
    """`runner` for `244531986313.dkr.ecr.eu-central-1.amazonaws.com/runner:85cac88@sha256:…`."""
    return str(artifact["name"]).split("@")[0].rsplit("/", 1)[-1].split(":")[0]


def reorder_flows(body: dict[str, Any], order: Callable[[list[Any]], list[Any]]) -> dict[str, Any]:
    """The snapshot with every artifact's `flows[]` in another order (as Kosli lists them from one day to the next)."""
    changed = copy.deepcopy(body)
    for artifact in changed["artifacts"]:
        artifact["flows"] = order(artifact["flows"])
        first = artifact["flows"][0]  # Kosli's top-level fields follow the first entry
        artifact.update(flow_name=first["flow_name"], git_commit=first["git_commit"], commit_url=first["commit_url"])
    return changed


def scans_first(flows: list[Any]) -> list[Any]:
    """Scan flows first, then promotion, CI last: the order that broke pairing by first flow."""
    return sorted(flows, key=lambda f: (not f["flow_name"].startswith("snyk"), f["flow_name"].endswith("-ci")))


def built_here(body: dict[str, Any], name: str, commit: str) -> dict[str, Any]:
    """The snapshot with service `name` built from `commit` of this repository, in its CI flow `NAME-ci`."""
    changed = copy.deepcopy(body)
    for artifact in changed["artifacts"]:
        if service(artifact) != name:
            continue
        for entry in artifact["flows"]:
            if entry["flow_name"] == f"{name}-ci":
                entry["git_commit"] = entry["trail_name"] = commit
                entry["commit_url"] = f"{ORG_URL}/{name}/commit/{commit}"
        if artifact["flow_name"] == f"{name}-ci":
            artifact["git_commit"], artifact["commit_url"] = commit, f"{ORG_URL}/{name}/commit/{commit}"
    return changed
