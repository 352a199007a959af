"""Deployment facts as git notes under `refs/notes/kosli`, written in one notes commit.

Writing replaces each commit's note with freshly computed facts, so running it
twice gives the same notes (and no new commit). The ref moves by compare-and-swap,
so a concurrent writer makes us fail rather than lose its notes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from git_kosli.errors import GitCommandError
from git_kosli.gitcmd import RepoPaths

if TYPE_CHECKING:
    from dulwich.object_store import BaseObjectStore

NOTES_REF = b"refs/notes/kosli"
_FANOUT_THRESHOLD = 256  # git itself starts fanning out the notes tree at about this size


def write_notes(
    paths: RepoPaths, notes: Mapping[str, str], *, command: str, progress: Callable[[int], None] | None = None
) -> bool:
    """Set the note of each commit (full sha -> text); `progress(done)` as they go. False when nothing changed."""
    from dulwich.notes import NotesTree
    from dulwich.objects import Blob, Commit
    from dulwich.repo import Repo, get_user_identity

    with Repo(str(paths.common_dir)) as repo:
        store = repo.object_store
        old_commit_id = repo.refs.as_dict().get(NOTES_REF)
        entries: dict[bytes, bytes] = {}
        old_tree_id = None
        if old_commit_id is not None:
            old_tree_id = store[old_commit_id].tree  # type: ignore[attr-defined]
            for obj, blob in NotesTree(store[old_tree_id], store).list_notes():  # type: ignore[arg-type]
                entries[obj] = blob
        blobs = []
        for done, (sha, text) in enumerate(notes.items(), 1):
            if progress and (done % 256 == 0 or done == len(notes)):
                progress(done)
            blob = Blob.from_string(text.encode() if text.endswith("\n") else (text + "\n").encode())
            if entries.get(sha.encode()) != blob.id:
                blobs.append((blob, None))
            entries[sha.encode()] = blob.id
        if blobs:
            store.add_objects(blobs)  # one pack, not thousands of loose objects
        tree_id = _write_tree(store, entries, fanout=len(entries) > _FANOUT_THRESHOLD)
        if tree_id == old_tree_id:
            return False
        commit = Commit()
        commit.tree = tree_id
        commit.parents = [old_commit_id] if old_commit_id is not None else []
        commit.author = commit.committer = get_user_identity(repo.get_config_stack(), "COMMITTER")
        commit.author_time = commit.commit_time = int(time.time())
        commit.author_timezone = commit.commit_timezone = 0
        commit.message = f"Notes added by 'git kosli {command}'\n".encode()
        store.add_object(commit)
        if not repo.refs.set_if_equals(NOTES_REF, old_commit_id, commit.id, message=f"git kosli {command}".encode()):
            raise GitCommandError(f"{NOTES_REF.decode()} moved while writing notes; run the command again")
        return True


def _write_tree(store: BaseObjectStore, entries: Mapping[bytes, bytes], *, fanout: bool) -> bytes:
    """A notes tree, flat or with git's 2/38 fanout."""
    from dulwich.objects import Tree

    if not fanout:
        tree = Tree()
        for name, blob in entries.items():
            tree.add(name, 0o100644, blob)
        store.add_object(tree)
        return bytes(tree.id)
    buckets: dict[bytes, dict[bytes, bytes]] = {}
    for name, blob in entries.items():
        buckets.setdefault(name[:2], {})[name[2:]] = blob
    top = Tree()
    for prefix, bucket in buckets.items():
        top.add(prefix, 0o040000, _write_tree(store, bucket, fanout=False))
    store.add_object(top)
    return bytes(top.id)



def read_notes(paths: RepoPaths, commits: Iterable[str]) -> dict[str, str]:
    """The kosli notes of the commits that have one (full sha -> text), read in one pass."""
    from dulwich.notes import NotesTree
    from dulwich.repo import Repo

    wanted = {sha.encode() for sha in commits}
    found: dict[str, str] = {}
    with Repo(str(paths.common_dir)) as repo:
        tip = repo.refs.as_dict().get(NOTES_REF)
        if tip is None or not wanted:
            return found
        store = repo.object_store
        for obj, blob in NotesTree(store[store[tip].tree], store).list_notes():  # type: ignore[attr-defined,arg-type]
            if obj in wanted:
                found[obj.decode()] = store[blob].data.decode(errors="replace").strip()  # type: ignore[attr-defined]
    return found
