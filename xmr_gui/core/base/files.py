"""Writing files so that a crash leaves the old version or the new one, never a torn one.

Every file xmr writes in place (index generations, manifests, caches, checkpoints, exports, demo images) goes
through `atomic_write`: written to a temp file beside the target, fsynced, renamed over it, and the folder
fsynced so the rename itself survives a power cut. Folders are replaced the same way with `replacing_dir`.
Temp files are named `.NAME.XXXXXXXX.tmp`, so a folder's leftovers of an interrupted write are `.*.tmp`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy only for annotations: the model spec imports this module on the window's start-up path
    import numpy as np


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make a rename or a new entry in `path` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _new_temp(target: Path) -> Path:
    """An empty temp file beside `target`, created with the default permissions (the umask's, as a plain
    `open` would give the target: tempfile.mkstemp's 0600 would make shared files such as exports private)."""
    while True:
        tmp = target.with_name(f".{target.name}.{os.urandom(4).hex()}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue


def atomic_write(target: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Call `write(tmp)` to fill a temp file beside `target`, fsync it, rename it over `target`, fsync the folder.

    The temp file is removed if `write` fails. Returns `target` as a Path.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temp(target)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
    return target


def atomic_write_text(target: str | os.PathLike[str], text: str) -> Path:
    """`atomic_write` of UTF-8 text."""
    return atomic_write(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def save_npy(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """np.save to exactly `path` (np.save given a name appends .npy to it), never pickling."""
    import numpy as np

    with open(path, "wb") as f:
        np.save(f, array, allow_pickle=False)


@contextlib.contextmanager
def replacing_dir(dst: Path, prefix: str) -> Iterator[Path]:
    """A temp folder beside `dst`, filled by the block; it replaces `dst` (a rename) only if the block succeeds."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=dst.parent))
    try:
        yield tmp
        if dst.exists():
            shutil.rmtree(dst)
        os.replace(tmp, dst)
        fsync_dir(dst.parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


_HASH_CACHE: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 of a file, read in chunks and cached per (path, size, mtime) within the process."""
    st = os.stat(path)
    key = (os.fspath(path), st.st_size, st.st_mtime_ns)
    if key not in _HASH_CACHE:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _HASH_CACHE[key] = h.hexdigest()
    return _HASH_CACHE[key]
