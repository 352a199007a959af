"""The embedded store: immutable numbered snapshots, idempotent imports, refusals that change nothing."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from git_kosli.errors import StoreConflictError, UnknownEnvironmentError
from git_kosli.model import EnvName, SnapshotRef
from git_kosli.sources.store import Store
from tests.factory import artifact, history


def test_snapshots_round_trip(tmp_path: Path) -> None:
    snaps = history("aws-beta", [[artifact("a" * 40), artifact(None, "miner")], [artifact("b" * 40)]])
    with Store(tmp_path / "s.sqlite") as store:
        assert store.put_snapshots(snaps) == [s.ref for s in snaps]
        assert store.history(EnvName("aws-beta")) == snaps
        assert store.snapshot_or_none(SnapshotRef(EnvName("aws-beta"), 1)) == snaps[0]
        assert store.latest_index(EnvName("aws-beta")) == 2


def test_the_same_snapshot_twice_changes_nothing(tmp_path: Path) -> None:
    snaps = history("aws-beta", [[artifact("a" * 40)]])
    with Store(tmp_path / "s.sqlite") as store:
        store.put_snapshots(snaps)
        assert store.put_snapshots(snaps) == []
        assert store.history(EnvName("aws-beta")) == snaps


def test_a_different_snapshot_under_a_stored_number_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    first = history("aws-beta", [[artifact("a" * 40)]])
    with Store(tmp_path / "s.sqlite") as store:
        store.put_snapshots(first)
        other = dataclasses.replace(first[0], artifacts=(artifact("c" * 40),))
        new_one = history("aws-beta", [[artifact("d" * 40)]], start=2)
        with pytest.raises(StoreConflictError, match="aws-beta#1 is already stored with different artifacts"):
            store.put_snapshots([*new_one, other])
        assert store.history(EnvName("aws-beta")) == first  # #2 was rolled back with the refusal


def test_unknown_environment_lists_the_known_ones(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        store.put_snapshots(history("aws-beta", [[]]) + history("aws-prod", [[]]))
        with pytest.raises(
            UnknownEnvironmentError, match=r"'staging' does not exist \(environments: aws-beta, aws-prod\)"
        ):
            store.summaries(EnvName("staging"))


def test_reading_a_missing_store_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "kosli" / "local.sqlite"
    with Store(path, create=False) as store:
        assert store.environments() == []
    assert not path.parent.exists()
