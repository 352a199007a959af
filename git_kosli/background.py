"""One `git kosli fetch` in the background at a time: started detached, its output in a log, a lock while it runs.

The lock (`fetch.lock` in the git common dir's `kosli/`) is made with O_CREAT|O_EXCL, so of two
starts only one wins; it holds the fetch's process id, and the fetch removes it when it ends. A
lock whose process is gone, or older than STALE seconds (a fetch that hung), is taken over. The
fetch runs in a session of its own, from `os.posix_spawn` (no Popen object left to reap, safe beside
the pre-push hook's worker thread), with no terminal: stdin is /dev/null, its output goes to
`fetch.log`, made anew each time, and no other descriptor is passed on (a pipe git or a hook manager
reads to its end would wait for the fetch). Neither file is written through a symbolic link.
Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

STALE = 600.0  # seconds after which a lock is taken over, whatever holds it
LOCK = "fetch.lock"
LOG = "fetch.log"
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_READ = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def start(argv: Sequence[str], *, folder: Path, environ: Mapping[str, str]) -> bool:
    """Run `argv` detached from this process, in its folder; False (nothing started) when a fetch already runs.

    Raises:
        OSError: the folder cannot be written; no lock is left behind.
    """
    folder.mkdir(parents=True, exist_ok=True)
    lock = _take(folder / LOCK)
    if lock is None:
        return False
    try:
        with contextlib.suppress(FileNotFoundError):
            (folder / LOG).unlink()  # a link or a file: replaced, never written through
        log = os.open(folder / LOG, _NEW, 0o644)
        try:
            pid = os.posix_spawn(
                argv[0],
                list(argv),
                dict(environ),
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_DUP2, log, 1),
                    (os.POSIX_SPAWN_DUP2, log, 2),
                    *((os.POSIX_SPAWN_CLOSE, fd) for fd in _inherited()),
                ],
                setsid=True,
            )
        finally:
            os.close(log)
        os.write(lock, str(pid).encode())
    except BaseException:
        os.close(lock)
        (folder / LOCK).unlink(missing_ok=True)
        raise
    os.close(lock)
    return True


def _inherited() -> list[int]:
    """The descriptors above stderr a child would inherit: ones this process was given without close-on-exec."""
    try:
        names = os.listdir("/dev/fd")
    except OSError:
        return []
    found = []
    for fd in (int(name) for name in names if name.isdigit() and int(name) > 2):
        with contextlib.suppress(OSError):  # the listing's own descriptor is closed by now
            if os.get_inheritable(fd):
                found.append(fd)
    return found


def release(folder: Path) -> None:
    """Remove the lock when this process holds it: the background fetch ending (one in the foreground holds none)."""
    if _holder(folder / LOCK) == str(os.getpid()):
        (folder / LOCK).unlink(missing_ok=True)


def _take(path: Path) -> int | None:
    """The new lock's descriptor, or None when a live one is there (a stale one is removed and taken)."""
    for _ in range(2):
        try:
            return os.open(path, _NEW, 0o644)
        except FileExistsError:
            if not _stale(path):
                return None
            path.unlink(missing_ok=True)
    return None


def _stale(path: Path) -> bool:
    """A lock older than STALE, of a process that is gone, or not a lock at all (a link): to be taken over."""
    try:
        if time.time() - path.lstat().st_mtime > STALE:
            return True
    except FileNotFoundError:
        return True
    holder = _holder(path)
    if holder is None:
        return True
    if not holder.isdigit():
        return False  # empty: being started this moment
    try:
        os.kill(int(holder), 0)
    except (ProcessLookupError, OverflowError):
        return True
    except PermissionError:
        return False  # alive, another user's
    return False


def _holder(path: Path) -> str | None:
    """What the lock says (a process id, or '' while it is being started); None when it cannot be read as a file."""
    try:
        descriptor = os.open(path, _READ)
    except OSError:
        return None
    try:
        return os.read(descriptor, 32).decode("ascii", "replace").strip()
    finally:
        os.close(descriptor)
