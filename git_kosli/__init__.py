"""git kosli: Kosli environment snapshots as git commit ranges.

Resolves what ran in an environment snapshot to the commits it was built from,
so `git bisect`, `git log` and notes can work over deployment history.
"""

import _signal  # type: ignore[import-not-found]  # the builtin under `signal`, which takes milliseconds to import
import os
import sys

__version__ = "0.1.0"


def _leave(signum: int, frame: object) -> None:
    """Ctrl-C while git kosli is still starting: leave at once, as git does (128 + SIGINT), without a traceback."""
    os.write(2, b"\n")
    os._exit(130)


def quiet_interrupts(*, only_as_the_command: bool) -> bool:
    """Until `loud_interrupts`, Ctrl-C ends the process quietly; True when that is so now.

    The first code of git kosli to run calls it (below), so the imports of a starting command are
    covered. An ignored SIGINT (a background job) stays ignored, and nothing changes in a program
    that imports git kosli unless it asks.
    """
    current = _signal.getsignal(_signal.SIGINT)
    if current is _leave:
        return True
    if current is not _signal.default_int_handler:
        return False
    if only_as_the_command and not (sys.argv and os.path.basename(sys.argv[0]) == "git-kosli"):
        return False
    _signal.signal(_signal.SIGINT, _leave)
    return True


def loud_interrupts() -> None:
    """Ctrl-C is a KeyboardInterrupt again (the command line turns it into exit 130)."""
    if _signal.getsignal(_signal.SIGINT) is _leave:
        _signal.signal(_signal.SIGINT, _signal.default_int_handler)


quiet_interrupts(only_as_the_command=True)
