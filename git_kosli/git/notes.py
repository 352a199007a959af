"""Deployment facts as git notes under `refs/notes/kosli`, written in one notes commit.

Writing replaces each commit's note with freshly computed facts; a note whose text
is unchanged is not rewritten, so running it twice gives the same notes (and no new
commit). git does the reading (`git cat-file --batch`, only the trees that can hold the
notes asked about) and the writing (`git fast-import`, fed as the stream is made), in C.
Each distinct text is one blob, so a million commits cost a dict slot each, not a string
each: `git kosli notes` over a million-commit history stays near 200 MB. fast-import
moves the ref only to a commit that contains the ref's current tip, so a concurrent
writer makes us fail rather than lose its notes, and only once the whole stream has
arrived (`feature done`), so a writer that dies mid-stream publishes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import struct
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import NamedTuple

from git_kosli.errors import GitCommandError
from git_kosli.files import write_atomically
from git_kosli.git.repository import RepoPaths
from git_kosli.git.run import cat_objects, feed_git, run_git
from git_kosli.model import CommitSha, clean_text

NOTES_REF = "refs/notes/kosli"
_TREE_SIZE = 256  # git fans the notes tree out about here: each level of 2-hex directories keeps trees this small
_FALLBACK_IDENT = "git kosli <git-kosli@localhost>"
Notes = Mapping[CommitSha, str] | Iterable[tuple[CommitSha, str]]  # full commit sha -> text, or a stream of them
_STATES = 64  # a found note's state, packed with its text's number: 2 * directory depth + (1 if the same text)


def write_notes(
    paths: RepoPaths,
    notes: Notes,
    *,
    command: str,
    progress: Callable[[int], None] | None = None,
) -> bool:
    """Set the note of each commit (full sha -> text); `progress(done)` as they go. False when nothing changed."""
    return NotesTree(paths).compare(notes).write(command=command, progress=progress)


class NoteTexts:
    """The text of each commit's note, each distinct text kept once.

    A million commits share a few thousand texts (`no artifact; first build X`), so a commit
    costs a dict slot and a shared number, not a string of its own.
    """

    def __init__(self, notes: Notes) -> None:
        numbers: dict[str, int] = {}
        self.texts: list[bytes] = []  # as the blob holds it: ending in a newline
        self.of: dict[str, int] = {}  # commit -> number of its text
        for sha, text in notes.items() if isinstance(notes, Mapping) else notes:
            number = numbers.get(text)
            if number is None:
                number = numbers[text] = len(self.texts)
                self.texts.append((text if text.endswith("\n") else text + "\n").encode())
            self.of[sha] = number

    def digest(self) -> str:
        """What identifies these notes (commits, in order, and their texts), made with C-level joins."""
        from itertools import islice

        summary = hashlib.sha1(usedforsecurity=False)
        commits, numbers = iter(self.of), iter(self.of.values())
        while chunk := "\n".join(islice(commits, 1 << 16)):  # a chunk at a time: a million shas are 41 MB
            summary.update(chunk.encode())
        while texts := list(islice(numbers, 1 << 16)):
            summary.update(struct.pack(f"<{len(texts)}I", *texts))
        summary.update(b"\0".join(self.texts))
        return summary.hexdigest()


class NotesUpdate(NamedTuple):
    """What writing a set of notes would change, worked out without changing anything."""

    paths: RepoPaths
    tip: str | None  # the notes commit the comparison was made against
    texts: list[bytes]
    changed: Mapping[str, int]  # commit -> number of its new text
    moved_from: list[str]  # where changed notes were, when that is not where they are written now
    fanout: int  # levels of 2-hex directories
    compared: int  # the notes compared, changed or not

    def write(self, *, command: str, progress: Callable[[int], None] | None = None) -> bool:
        """One notes commit with the changes, streamed into one `git fast-import`; False when nothing changed.

        Raises:
            GitCommandError: the ref moved since the comparison (a concurrent writer), or git failed.
        """
        if not self.changed:
            return False
        result = feed_git(
            ["fast-import", "--quiet"], _commit_stream(self, command=command, progress=progress), cwd=self.paths.cwd
        )
        if result.returncode != 0:
            if _tip(self.paths) != self.tip:
                raise GitCommandError(f"{NOTES_REF} moved while writing notes; run the command again")
            raise GitCommandError(f"writing {NOTES_REF} failed: {result.stderr.strip()}")
        return True


class NotesTree:
    """refs/notes/kosli as it is now: its tip, and the notes of the commits asked about.

    Only the directories that can hold an asked-about note are read, so a bisect over 10,000
    commits reads about 10,000 small trees even when `git kosli notes` annotated a million.
    """

    def __init__(self, paths: RepoPaths) -> None:
        self.paths = paths
        self.tip = _tip(paths)

    def _walk(self, wanted: Collection[str]) -> _Walk:
        return _Walk(self.paths, self.tip, wanted)

    def compare(self, notes: Notes) -> NotesUpdate:
        """Which of these notes (full sha -> text) differ from the tree, reading only the trees that can hold them.

        Each tree holds at most about 256 entries, as git lays notes out: past 256 notes they
        go in 2/38 directories, past 65,536 in 2/2/36. A changed note found elsewhere (another
        layout, git's or an older one of ours) is removed from there, so no commit has two.
        """
        wanted = NoteTexts(notes)
        compared = _Compared(self.paths)
        digest = wanted.digest()
        if self.tip is not None and compared.holds(self.tip, digest):
            return NotesUpdate(self.paths, self.tip, wanted.texts, {}, [], 0, len(wanted.of))
        ids = [_blob_id(data, sha256=_sha256(self.tip)) for data in wanted.texts]
        of = wanted.of
        found: dict[int, int] = {}  # one int object per distinct value, shared by the commits that have it
        walk = self._walk(of.keys())
        for sha, depth, blob in walk:  # found: its text's number packed with where it is and whether it is the same
            number = of[sha]
            packed = _pack_found(number, depth=depth, same=blob == ids[number])
            of[sha] = found.setdefault(packed, packed)
        fanout = _fanout(walk.seen + sum(1 for value in of.values() if value >= 0))
        if not walk.complete:  # notes it did not read keep their layout: do not move every note for a partial count
            fanout = max(fanout, walk.deepest)
        changed: dict[str, int] = {}
        moved_from: list[str] = []
        for sha, value in of.items():
            if value >= 0:
                changed[sha] = value
                continue
            number, depth, same = _unpack_found(value)
            if same and depth == fanout:
                continue
            changed[sha] = number
            if depth != fanout:
                moved_from.append(_note_path(sha, fanout=depth))
        if not changed and self.tip is not None:
            compared.add(self.tip, digest)
        return NotesUpdate(self.paths, self.tip, wanted.texts, changed, moved_from, fanout, len(wanted.of))

    def read(self, commits: Iterable[str]) -> dict[str, str]:
        """The notes of the commits that have one (full sha -> text)."""
        asked = set(commits)
        blobs = {sha: blob for sha, _, blob in self._walk(asked)}
        if not blobs:
            return {}
        texts = _blob_texts(self.paths, list(blobs.values()))
        return {sha: texts[blob] for sha, blob in blobs.items()}


def _pack_found(number: int, *, depth: int, same: bool) -> int:
    """A found note as one negative int: its text's number, the depth it lies at, and whether its text is the same.

    Negative, so it never mistakes for a text number (a note not found); one int per distinct
    value, shared by the commits that have it, so a million notes cost no tuple each.
    """
    return -1 - (number * _STATES + 2 * depth + same)


def _unpack_found(packed: int) -> tuple[int, int, bool]:
    """What `_pack_found` packed: the text's number, the depth, and whether the text is the same."""
    number, state = divmod(-1 - packed, _STATES)
    depth, same = divmod(state, 2)
    return number, depth, bool(same)


def read_notes(paths: RepoPaths, commits: Iterable[str]) -> dict[str, str]:
    """The kosli notes of the commits that have one (full sha -> text), read in one pass."""
    return NotesTree(paths).read(commits)


def _tip(paths: RepoPaths) -> str | None:
    result = run_git(["rev-parse", "--verify", "--quiet", f"{NOTES_REF}^{{commit}}"], cwd=paths.cwd, check=False)
    return result.stdout.strip() or None


class _Compared:
    """Notes commits known to hold a set of notes already, each with the digest of that set.

    A notes commit never changes, so once a comparison found nothing to write, the same notes
    need no comparison against the same commit again (a bisect run twice, `notes` in CI). A
    line per pair in `kosli/notes-compared`, the newest kept; an unreadable file is a miss.
    """

    _KEEP = 16

    def __init__(self, paths: RepoPaths) -> None:
        self._path = paths.common_dir / "kosli" / "notes-compared"

    def holds(self, tip: str, digest: str) -> bool:
        return f"{tip} {digest}" in self._lines()

    def add(self, tip: str, digest: str) -> None:
        entry = f"{tip} {digest}"
        kept = [line for line in self._lines() if line != entry][-(self._KEEP - 1) :]
        with contextlib.suppress(
            OSError
        ):  # a read-only repository: the next comparison is made in full, as without this
            write_atomically(self._path, "".join(f"{line}\n" for line in [*kept, entry]))

    def _lines(self) -> list[str]:
        try:
            return self._path.read_text().splitlines()
        except (OSError, UnicodeDecodeError):
            return []


class _Walk:
    """The notes tree read level by level, descending only into directories an asked-about note can be in.

    Iterating yields each asked-about note found: commit, directory depth, blob id. Afterwards
    `seen` counts the notes of the trees read, `complete` says whether that was every tree, and
    `deepest` is the deepest level of directories met. Any layout reads: flat, git's per-directory
    fanout, or a mix. Trees come from one `git cat-file --batch` per level, parsed by a regular
    expression and matched in comprehensions: a bisect in a repository with a million notes reads
    9,700 trees (140,000 entries) in about 0.2 s, most of it git's.
    """

    def __init__(self, paths: RepoPaths, tip: str | None, wanted: Collection[str]) -> None:
        self._paths = paths
        self._tip = tip
        self._wanted = wanted
        self.seen = 0
        self.complete = True
        self.deepest = 0

    def __iter__(self) -> Iterator[tuple[str, int, str]]:
        if self._tip is None or not self._wanted:
            return
        wanted = self._wanted
        entries_of = _TREE_ENTRY_SHA256 if _sha256(self._tip) else _TREE_ENTRY
        level: list[tuple[str, str]] = [("", f"{self._tip}^{{tree}}")]  # (hex prefix so far, tree to read)
        depth = 0
        while level:
            below: list[tuple[str, bytes]] = []
            for (prefix, _), content in zip(
                level, cat_objects([name for _, name in level], cwd=self._paths.cwd), strict=True
            ):
                entries = entries_of.findall(content or b"")
                directories = [(prefix + name.decode(), oid) for mode, name, oid in entries if mode == b"40000"]
                below += directories
                self.seen += len(entries) - len(directories)
                for sha, oid in [(sha, oid) for _, name, oid in entries if (sha := prefix + name.decode()) in wanted]:
                    yield sha, depth, oid.hex()
            depth += 1
            self.deepest = depth if below else self.deepest
            level = [(prefix, oid.hex()) for prefix, oid in self._needed(below, depth)]

    def _needed(self, directories: list[tuple[str, bytes]], depth: int) -> list[tuple[str, bytes]]:
        """The directories that can hold an asked-about note (all of them when nearly all can)."""
        if len(self._wanted) >= 4 * len(directories):
            return directories
        prefixes = {sha[: 2 * depth] for sha in self._wanted}
        needed = [(prefix, oid) for prefix, oid in directories if prefix in prefixes]
        self.complete = self.complete and len(needed) == len(directories)
        return needed


_TREE_ENTRY = re.compile(rb"(\d+) ([^\0]*)\0(.{20})", re.DOTALL)  # MODE NAME NUL OID (SHA-1) of a tree object
_TREE_ENTRY_SHA256 = re.compile(rb"(\d+) ([^\0]*)\0(.{32})", re.DOTALL)  # the same in a SHA-256 repository


def _sha256(tip: str | None) -> bool:
    """True in a SHA-256 repository (`git init --object-format=sha256`), as the notes commit's name says."""
    return tip is not None and len(tip) == 64


def _fanout(count: int) -> int:
    """Levels of 2-hex directories that keep every tree of `count` notes at about 256 entries or fewer."""
    levels = 0
    while count > _TREE_SIZE ** (levels + 1):
        levels += 1
    return levels


def _note_path(sha: str, *, fanout: int) -> str:
    """Where the note of a commit lives: flat, or under `fanout` levels of 2-hex directories (git's layout)."""
    return "".join(f"{sha[2 * i : 2 * i + 2]}/" for i in range(fanout)) + sha[2 * fanout :]


def _blob_id(data: bytes, *, sha256: bool) -> str:
    """The object id git gives a blob of these bytes (without asking git), SHA-1 or SHA-256."""
    algorithm = hashlib.sha256 if sha256 else hashlib.sha1
    return algorithm(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _commit_stream(update: NotesUpdate, *, command: str, progress: Callable[[int], None] | None) -> Iterator[bytes]:
    """A `git fast-import` stream: each text used once as a blob, then one notes commit on the compared tip.

    It opens with `feature done` and ends with `done`: a stream cut short (the writer killed, an
    error while making it) makes fast-import fail and move no ref, never commit half the notes.
    """
    yield b"feature done\n"
    used = sorted(set(update.changed.values()))
    for number in used:
        data = update.texts[number]
        yield b"blob\nmark :%d\ndata %d\n%s\n" % (number + 1, len(data), data)
    message = f"Notes added by 'git kosli {command}'\n".encode()
    yield f"commit {NOTES_REF}\ncommitter {_committer(update.paths)}\n".encode()
    yield b"data %d\n%s" % (len(message), message)
    if update.tip is not None:
        yield f"from {update.tip}\n".encode()
    yield "".join(f"D {path}\n" for path in update.moved_from).encode()
    total = len(update.changed)
    batch: list[str] = []
    for done, (sha, number) in enumerate(update.changed.items(), 1):
        batch.append(f"M 100644 :{number + 1} {_note_path(sha, fanout=update.fanout)}\n")
        if done % 4096 == 0 or done == total:
            yield "".join(batch).encode()
            batch.clear()
            if progress:
                progress(done)
    yield b"\ndone\n"


def _committer(paths: RepoPaths) -> str:
    """The committer identity git would use, and the time now, as fast-import wants them.

    That is `Name <email> 1700000000 +0000`, exactly what `git var GIT_COMMITTER_IDENT` prints.
    """
    asked = run_git(["var", "GIT_COMMITTER_IDENT"], cwd=paths.cwd, check=False)
    if asked.returncode == 0 and asked.stdout.strip():
        return asked.stdout.strip()
    import time  # no identity configured: notes are not authored work, so do not refuse over it

    return f"{_FALLBACK_IDENT} {int(time.time())} +0000"


def _blob_texts(paths: RepoPaths, blobs: list[str]) -> dict[str, str]:
    """The contents of blobs, from one `git cat-file --batch`, each line without control characters.

    Notes may come from anyone who pushed to `refs/notes/kosli`: no escape of theirs reaches the terminal.
    """
    return {
        blob: "\n".join(clean_text(line) for line in (data or b"").decode(errors="replace").strip().splitlines())
        for blob, data in zip(blobs, cat_objects(blobs, cwd=paths.cwd), strict=True)
    }
