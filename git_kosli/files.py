"""Files git kosli writes, written so that a symbolic link in the way is replaced, never written through.

A hook, a bisect record or a memo is written whole to a new file beside its place (created
with O_EXCL and O_NOFOLLOW, so nothing already there is opened) and renamed over it: the
rename replaces a link itself, so its target is never touched, and a reader sees the old
file or the new one, never half of one. Standard library only, so any layer may use it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def write_atomically(path: Path, data: str | bytes, *, mode: int | None = None) -> None:
    """Put `data` at `path`, replacing whatever is there (a link too, never its target); `mode` sets the permissions.

    Raises:
        OSError: the folder cannot be written (read-only, disk full); nothing at `path` changed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    descriptor = os.open(temporary, _CREATE, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data.encode() if isinstance(data, str) else data)
            if mode is not None:
                os.fchmod(out.fileno(), mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
