"""Thumbnails: decoded off the GUI thread (EXIF-correct, via the core loader), cached on disk and in memory."""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage, QPixmap

from ..core.base import paths
from ..core.base.files import atomic_write

SIZE = 160


def cache_file(path: str) -> Path:
    """Where the thumbnail of `path` is cached (keyed by path, size, mtime and thumbnail size)."""
    try:
        st = os.stat(path)
        key = f"{path}|{st.st_size}|{st.st_mtime_ns}|{SIZE}"
    except OSError:
        key = f"{path}|missing"
    return paths.cache_dir() / "thumbs" / f"{hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()}.jpg"


def make_thumbnail(path: str) -> QImage:
    """A SIZE-px thumbnail of `path` as a QImage (thread-safe; reads/writes the disk cache)."""
    from ..core.runtime.images import ImageSkipped, load_image  # Pillow + numpy load on the worker, not at start-up

    cached = cache_file(path)
    if cached.exists():
        image = QImage(str(cached))
        if not image.isNull():
            return image
    try:
        im = load_image(path, min_side=SIZE)
    except ImageSkipped:
        return QImage()
    im.thumbnail((SIZE, SIZE))
    atomic_write(cached, lambda tmp: im.save(tmp, format="JPEG", quality=85))
    return QImage(str(cached))


class _Signals(QObject):
    ready = Signal(str, QImage)


class _Job(QRunnable):
    def __init__(self, path: str, signals: _Signals) -> None:
        super().__init__()
        self.path, self.signals = path, signals

    def run(self) -> None:
        self.signals.ready.emit(self.path, make_thumbnail(self.path))


class ThumbnailCache(QObject):
    """Ask with `get(path)`: a pixmap if ready, else None and `ready(path)` fires when it is."""

    ready = Signal(str)

    def __init__(self, capacity: int = 2000, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pixmaps: OrderedDict[str, QPixmap] = OrderedDict()
        self._pending: set[str] = set()
        self._capacity = capacity
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._signals = _Signals()
        self._signals.ready.connect(self._on_ready)

    def get(self, path: str) -> QPixmap | None:
        if path in self._pixmaps:
            self._pixmaps.move_to_end(path)
            return self._pixmaps[path]
        if path not in self._pending:
            self._pending.add(path)
            self._pool.start(_Job(path, self._signals))
        return None

    def _on_ready(self, path: str, image: QImage) -> None:
        self._pending.discard(path)
        self._pixmaps[path] = QPixmap.fromImage(image) if not image.isNull() else QPixmap()
        while len(self._pixmaps) > self._capacity:
            self._pixmaps.popitem(last=False)
        self.ready.emit(path)

    def wait(self) -> None:
        self._pool.waitForDone()
