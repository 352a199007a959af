"""A lazy reader of git's commit-graph: parents, generation and date of one commit, on demand.

dulwich parses the whole file into Python objects when it opens it, which costs
seconds and hundreds of megabytes at a million commits; git kosli asks about a
few thousand commits per command, so it maps the files and binary-searches them.
Format: git's Documentation/gitformat-commit-graph.txt (version 1, SHA-1 or SHA-256).

A repository has one `objects/info/commit-graph` file, or a chain of them
(`objects/info/commit-graphs/commit-graph-chain`, written by `git commit-graph write
--split`, `git maintenance` and `fetch.writeCommitGraph`): each layer holds the commits
added since the layers below it, and rows are numbered across the chain, base first,
so a parent's row may point into a lower layer. Both are read as one graph, and git's
own order is followed: the single file when there is one, else the chain, as far as
its layers are present and consistent.

The generation read is the topological level git keeps in every layer's CDAT chunk
(git 2.39 writes corrected commit dates to GDA2/GDO2 when enabled, and still levels in
CDAT): a commit's level is greater than its parents', which is all walks rely on.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

_NO_PARENT = 0x70000000
_EXTRA_EDGES = 0x80000000
_LAST_EDGE = 0x80000000
_UINT32 = struct.Struct(">I")
_RECORD = struct.Struct(">IIII")  # first parent, second (or extra-edges index), generation+time high, time low
_HASH_LENGTHS = {1: 20, 2: 32}  # the header's hash version: SHA-1, SHA-256
INFINITY = 1 << 62
"""The generation of a commit the graph lacks, or of every commit when the graph has none: after all others."""


class _Layer:
    """One commit-graph file, mapped read-only; `offset` is the number of rows in the layers below it."""

    def __init__(self, path: Path, offset: int) -> None:
        with path.open("rb") as file:
            self._map = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            self._parse(path, offset)
        except (ValueError, KeyError, struct.error):
            self._map.close()
            raise

    def _parse(self, path: Path, offset: int) -> None:
        data = self._map
        if len(data) < 8 or data[:4] != b"CGPH" or data[4] != 1 or data[5] not in _HASH_LENGTHS:
            raise ValueError(f"{path}: not a version 1 commit-graph")
        self.hash_length = _HASH_LENGTHS[data[5]]
        self.bases = data[7]
        chunks = {}
        for i in range(data[6]):
            base = 8 + 12 * i
            chunks[bytes(data[base : base + 4])] = struct.unpack_from(">Q", data, base + 4)[0]
        self._fanout = chunks[b"OIDF"]
        self._oids = chunks[b"OIDL"]
        self._data = chunks[b"CDAT"] + self.hash_length  # each row: the root tree's id, then parents and date
        self._row = self.hash_length + 16
        self._edges = chunks.get(b"EDGE")
        self.base_ids = [
            data[chunks[b"BASE"] + i * self.hash_length : chunks[b"BASE"] + (i + 1) * self.hash_length].hex()
            for i in range(self.bases)
        ]
        self.count: int = _UINT32.unpack_from(data, self._fanout + 255 * 4)[0]
        if self._data + self._row * self.count > len(data):
            raise ValueError(f"{path}: truncated")
        self.offset = offset
        self._records = self._data - self._row * offset  # where row 0 of the chain would be: rows index directly
        self.has_generations = self.count == 0 or self.record(offset)[1] != 0  # 0: written before git had them

    def close(self) -> None:
        self._map.close()

    def position(self, oid: bytes) -> int | None:
        """The commit's row across the chain, or None when this layer does not hold it."""
        first = oid[0]
        low: int = _UINT32.unpack_from(self._map, self._fanout + 4 * (first - 1))[0] if first else 0
        high: int = _UINT32.unpack_from(self._map, self._fanout + 4 * first)[0]
        size = self.hash_length
        while low < high:
            middle = (low + high) // 2
            start = self._oids + size * middle
            found = self._map[start : start + size]
            if found == oid:
                return self.offset + middle
            if found < oid:
                low = middle + 1
            else:
                high = middle
        return None

    def sha_at(self, row: int) -> str:
        start = self._oids + self.hash_length * (row - self.offset)
        return self._map[start : start + self.hash_length].hex()

    def record(self, row: int) -> tuple[tuple[int, ...], int, int]:
        """Parents (rows across the chain), generation and commit time of a row of this layer."""
        first, second, high, low = _RECORD.unpack_from(self._map, self._records + self._row * row)
        when = ((high & 3) << 32) | low
        if first == _NO_PARENT:
            return (), high >> 2, when
        if second == _NO_PARENT:
            return (first,), high >> 2, when
        if not second & _EXTRA_EDGES:
            return (first, second), high >> 2, when
        parents = [first]
        index = second & ~_EXTRA_EDGES
        while self._edges is not None:
            edge = _UINT32.unpack_from(self._map, self._edges + 4 * index)[0]
            parents.append(edge & ~_LAST_EDGE)
            if edge & _LAST_EDGE:
                break
            index += 1
        return tuple(parents), high >> 2, when


class CommitGraph:
    """The commit-graph of a repository, one file or a chain of layers, read as one.

    Walks use rows, not shas: no search, no hex, a few microseconds per commit at a million
    commits. `record(row)` gives parents as rows (the graph holds every ancestor of what it
    holds), the generation, and the commit time.
    """

    def __init__(self, layers: list[_Layer]) -> None:
        self._layers = layers
        self._oid_length = layers[0].hash_length
        self.count = sum(layer.count for layer in layers)
        self.layers = len(layers)
        if len(layers) == 1:  # the usual case: no layer to find on the hot path
            self.record = layers[0].record  # type: ignore[method-assign]
            self.sha_at = layers[0].sha_at  # type: ignore[method-assign]

    def close(self) -> None:
        """Unmap the files."""
        for layer in self._layers:
            layer.close()

    def position(self, sha: str) -> int | None:
        """Where the commit is in the graph (its row), or None when the graph does not hold it."""
        try:
            oid = bytes.fromhex(sha)
        except ValueError:
            return None
        if len(oid) != self._oid_length:
            return None
        for layer in self._layers:
            row = layer.position(oid)
            if row is not None:
                return row
        return None

    def _layer(self, row: int) -> _Layer:
        for layer in reversed(self._layers):
            if row >= layer.offset:
                return layer
        raise IndexError(row)

    def sha_at(self, row: int) -> str:
        """The commit at a row."""
        return self._layer(row).sha_at(row)

    def record(self, row: int) -> tuple[tuple[int, ...], int, int]:
        """Parents (as rows), generation and commit time of the commit at a row."""
        return self._layer(row).record(row)

    def entry(self, sha: str) -> tuple[list[str], int, int] | None:
        """Parents, generation (topological level) and commit time of a commit, or None when not in the graph."""
        row = self.position(sha)
        if row is None:
            return None
        parents, generation, when = self.record(row)
        return [self.sha_at(p) for p in parents], generation, when


def open_commit_graph(objects: Path) -> CommitGraph | None:
    """The commit-graph of an objects directory, as git would load it; None when there is none it can use.

    A file in a format this reader does not know, a chain whose first layer is unusable, or a
    graph written before git kept generation numbers (git 2.18) is no graph: walks then read
    commit objects, as correct if slower.
    """
    graph = _open_single(objects / "info" / "commit-graph") or _open_chain(objects / "info" / "commit-graphs")
    if graph is not None and not all(layer.has_generations for layer in graph._layers):
        graph.close()
        return None
    return graph


def _open_single(path: Path) -> CommitGraph | None:
    if not path.is_file():
        return None
    try:
        return CommitGraph([_Layer(path, 0)])
    except (ValueError, KeyError, OSError, struct.error):
        return None  # git, too, falls back to the chain


def _open_chain(folder: Path) -> CommitGraph | None:
    """The layers a chain file names, base first, as far as each is present and says it sits on those below."""
    try:
        names = (folder / "commit-graph-chain").read_text().split()
    except (OSError, UnicodeDecodeError):
        return None
    layers: list[_Layer] = []
    offset = 0
    for number, name in enumerate(names):
        if not all(c in "0123456789abcdef" for c in name):
            break
        try:
            layer = _Layer(folder / f"graph-{name}.graph", offset)
        except (ValueError, KeyError, OSError, struct.error):
            break  # git warns "unable to find all commit-graph files" and uses the layers below
        consistent = layer.base_ids == names[:number] and layer.hash_length == (layers or [layer])[0].hash_length
        if layer.bases != number or not consistent:
            layer.close()
            break
        layers.append(layer)
        offset += layer.count
    return CommitGraph(layers) if layers else None
