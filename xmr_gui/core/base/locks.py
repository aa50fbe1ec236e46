"""One lock between processes, over the filelock package (flock on POSIX, msvcrt on Windows).

Three things need one: a library being indexed (a second writer is refused at once), an ONNX export being made
and a pretrained file being downloaded (a second process waits, then finds it made). filelock is imported only
when a lock is taken: it costs ~0.1 s to import and the window's start-up needs none.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class LockHeld(Exception):
    """Another process (or another holder in this one) has the lock and the caller asked not to wait."""


@contextmanager
def hold(path: str | os.PathLike[str], *, wait: bool = True) -> Iterator[None]:
    """Hold the lock file `path` for the block: waits for its holder, or with `wait=False` raises LockHeld at once.

    Not re-entrant: a second `hold` of the same path is refused (or waits) even in the same process, so one
    process cannot write a library twice at once either.
    """
    from filelock import FileLock, Timeout

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(os.fspath(path))
    try:
        lock.acquire(timeout=-1 if wait else 0)
    except Timeout:
        raise LockHeld(os.fspath(path)) from None
    try:
        yield
    finally:
        lock.release()
