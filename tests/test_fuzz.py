"""Property-based: no JSON, however malformed, ends in a traceback or a changed store.

The parsers of Kosli's answers take any JSON value and either give records that pass the
store's own check or refuse with one SourceError; `snapshot import` of any document (valid
ones bent at any field) exits 0 or 128 with one line, and when it refuses, the store is as it was.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from git_kosli.errors import SourceError
from git_kosli.model import EnvName, snapshot_problem
from git_kosli.sources.kosli.json import (
    environment_name_or_none,
    events_from_json,
    flows_of_events,
    loads_strict,
    provenance_from_listing,
    replay_history,
    snapshot_from_json,
    summary_from_json,
)
from tests.conftest import RunCli
from tests.factory import artifact, history, seed
from tests.gitrepo import GitRepo
from tests.kosli_server import events_json, snapshot_json

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["", "a" * 64, "A" * 64, "0" * 40, "\x1b[31m", "x\nfatal: y", "sha256:" + "b" * 64])
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
SHA = "c" * 40
FIXED = settings(max_examples=300, deadline=None, derandomize=True, database=None)


def _document() -> dict[str, Any]:
    """A valid `kosli get snapshot` document, with two artifacts and their flows."""
    return snapshot_json(history("e", [[artifact(SHA), artifact(None, "miner")]], start=2)[0], None)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a document where a value can be replaced."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for position, child in enumerate(value):
            found += _paths(child, (*prefix, position))
    return found


PLACES = _paths(_document())


@st.composite
def bent_documents(draw: st.DrawFn) -> Any:
    """A valid document with one to three places given any JSON value (or a key dropped), or any JSON at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON)
    document = _document()
    for _ in range(draw(st.integers(1, 3))):
        *parents, last = draw(st.sampled_from(PLACES))
        place: Any = document
        try:
            for part in parents:
                place = place[part]
            if draw(st.booleans()) and isinstance(place, dict):
                place.pop(last, None)
            else:
                place[last] = draw(JSON)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed the way there
    return document


@FIXED
@given(bent_documents())
def test_a_snapshot_parses_to_one_that_can_be_kept_or_is_refused(value: Any) -> None:
    try:
        snapshot = snapshot_from_json(value, EnvName("e"))
    except SourceError:
        return
    assert snapshot_problem(snapshot) is None


@FIXED
@given(JSON)
def test_listings_parse_or_are_refused(value: Any) -> None:
    for parse in (summary_from_json, lambda v: provenance_from_listing("ci", v), environment_name_or_none):
        with contextlib.suppress(SourceError):
            parse(value)
    name = environment_name_or_none(value)
    assert name is None or "\x1b" not in name


@st.composite
def bent_events(draw: st.DrawFn) -> list[Any]:
    """A valid event log with its events bent as documents are, or any JSON list."""
    events: list[Any] = list(events_json("e", _document()))
    if draw(st.integers(0, 4)) == 0:
        return draw(st.lists(JSON, max_size=4))
    position = draw(st.integers(0, len(events) - 1))
    key = draw(st.sampled_from([*events[position], "snapshot_index", "sha256"]))
    events[position] = {**events[position], key: draw(JSON)}
    return events


@FIXED
@given(bent_events())
def test_an_event_log_replays_or_is_refused_before_anything_keeps_it(items: list[Any]) -> None:
    try:
        events = events_from_json(items)
        flows_of_events(events)
        replayed = replay_history(EnvName("e"), [], events, {})
    except SourceError:
        return
    assert all(snapshot.index >= 1 for snapshot in replayed)


@FIXED
@given(st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
def test_any_bytes_are_json_or_a_value_error(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        loads_strict(data)


@pytest.fixture
def stored(repo: GitRepo) -> Path:
    repo.commit("a")
    return seed(repo.path, *history("e", [[artifact(SHA)]]))


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(document=bent_documents())
def test_snapshot_import_never_ends_in_a_traceback_or_a_changed_store(
    document: Any, stored: Path, repo: GitRepo, run_cli: RunCli, tmp_path: Path
) -> None:
    (tmp_path / "doc.json").write_text(json.dumps(document))
    before = stored.read_bytes()

    result = run_cli("snapshot", "import", "e", str(tmp_path / "doc.json"), cwd=repo.path)

    assert result.exit_code in (0, 128), result.stderr
    assert "internal error" not in result.stderr and len(result.stderr.splitlines()) <= 1
    if result.exit_code:
        assert stored.read_bytes() == before
    else:
        assert run_cli("snapshot", "list", "e", cwd=repo.path).exit_code == 0  # what was imported reads back
