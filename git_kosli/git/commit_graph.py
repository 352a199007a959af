"""A lazy reader of git's commit-graph file: parents, generation and date of one commit, on demand.

dulwich parses the whole file into Python objects when it opens it, which costs
seconds and hundreds of megabytes at a million commits; git kosli asks about a
few thousand commits per command, so it maps the file and binary-searches it.
Format: git's Documentation/gitformat-commit-graph.txt (version 1, SHA-1).
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

_NO_PARENT = 0x70000000
_EXTRA_EDGES = 0x80000000
_LAST_EDGE = 0x80000000
_UINT32 = struct.Struct(">I")
_RECORD = struct.Struct(">IIII")  # first parent, second parent (or extra-edges index), generation+time high, time low


class CommitGraphFile:
    """One `objects/info/commit-graph` file, mapped read-only."""

    def __init__(self, path: Path) -> None:
        with path.open("rb") as file:
            self._map = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        data = self._map
        if data[:4] != b"CGPH" or data[4] != 1 or data[5] != 1:
            raise ValueError(f"{path}: not a version 1 SHA-1 commit-graph")
        chunks = {}
        for i in range(data[6]):
            base = 8 + 12 * i
            chunks[bytes(data[base : base + 4])] = struct.unpack_from(">Q", data, base + 4)[0]
        self._fanout = chunks[b"OIDF"]
        self._oids = chunks[b"OIDL"]
        self._data = chunks[b"CDAT"]
        self._edges = chunks.get(b"EDGE")
        self.count = struct.unpack_from(">I", data, self._fanout + 255 * 4)[0]

    def close(self) -> None:
        """Unmap the file."""
        self._map.close()

    def position(self, sha: str) -> int | None:
        """Where the commit is in the file (its row), or None when the file does not hold it."""
        try:
            oid = bytes.fromhex(sha)
        except ValueError:
            return None
        if len(oid) != 20:
            return None
        first = oid[0]
        low: int = _UINT32.unpack_from(self._map, self._fanout + 4 * (first - 1))[0] if first else 0
        high: int = _UINT32.unpack_from(self._map, self._fanout + 4 * first)[0]
        while low < high:
            middle = (low + high) // 2
            start = self._oids + 20 * middle
            found = self._map[start : start + 20]
            if found == oid:
                return middle
            if found < oid:
                low = middle + 1
            else:
                high = middle
        return None

    def sha_at(self, position: int) -> str:
        """The commit at a row."""
        start = self._oids + 20 * position
        return self._map[start : start + 20].hex()

    def record(self, position: int) -> tuple[tuple[int, ...], int, int]:
        """Parents (as rows: the file holds every ancestor of what it holds), generation and commit time.

        Walks use rows, not shas: no search, no hex, a few microseconds per commit at a million commits.
        """
        first, second, high, low = _RECORD.unpack_from(self._map, self._data + 36 * position + 20)
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

    def entry(self, sha: str) -> tuple[list[str], int, int] | None:
        """Parents, generation (topological level) and commit time of a commit, or None when not in the file."""
        position = self.position(sha)
        if position is None:
            return None
        parents, generation, when = self.record(position)
        return [self.sha_at(p) for p in parents], generation, when
