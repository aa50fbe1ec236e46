"""Index a photo folder: scan, diff against the catalog, decode in threads while the model encodes.

Every batch is committed to the catalog before the next starts, and the HNSW index is saved at the end (and
every `save_every` seconds), so a run killed at any moment resumes where it stopped: the next open repairs the
index from the catalog (see Library._load_reconciled).
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..base.defaults import BATCH_SIZE
from ..runtime.images import HEIF_MISSING, ImageSkipped, heif_supported, is_image_name, load_pixels
from ..store.library import Library
from . import metadata

if TYPE_CHECKING:
    from ..store.catalog import FileRow


@dataclass
class IndexReport:
    """What a run did. The five counts cover every image-named file once: `added`/`updated` = indexed in this
    run (new / already catalogued: changed, or skipped before and readable now), `unchanged` = indexed with no
    change, `skipped` = unreadable after this run (new or still; exactly what `xmr skipped` lists), `removed` =
    catalogued files gone from the folder. A cancelled run leaves unreached files out of every count but
    `skipped`, which still counts those skipped before."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: int = 0
    cancelled: bool = False
    encoded: int = 0  # files that went through the model in this run
    facts_read: int = 0  # photos whose date, camera, GPS, size and keywords were read (new, changed, edited sidecar)
    seconds: float = 0.0
    new_skips: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """The five counts `xmr index --json` prints."""
        return {k: v for k, v in asdict(self).items() if k in ("added", "updated", "unchanged", "removed", "skipped")}


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    skipped: int
    elapsed: float
    latest: tuple[str, ...] = ()  # files indexed since the previous report (a window fills its grid with them)

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float:
        return (self.total - self.done) / self.rate if self.rate > 0 else float("inf")


@dataclass(frozen=True)
class Found:
    path: str
    size: int
    mtime_ns: int
    problem: str | None = None  # set when the entry can be seen but not read as a file


def scan(folder: str | os.PathLike[str]) -> Iterator[Found]:
    """Image-named files under `folder` (hidden files and folders skipped, folder symlinks not followed)."""
    folder = os.path.abspath(os.fspath(folder))
    errors: list[OSError] = []
    for root, dirs, files in os.walk(folder, onerror=errors.append, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or not is_image_name(name):
                continue
            path = os.path.join(root, name)
            try:
                st = os.stat(path)
            except FileNotFoundError:
                yield Found(path, 0, 0, "broken symlink (target does not exist)")
                continue
            except OSError as exc:
                yield Found(path, 0, 0, f"cannot stat: {exc.strerror or exc}")
                continue
            if not stat.S_ISREG(st.st_mode):
                yield Found(path, 0, 0, "not a regular file")
                continue
            yield Found(path, st.st_size, st.st_mtime_ns)


def _prefetch(
    items: Iterable[Found], size: int, pool: ThreadPoolExecutor, window: int
) -> Iterator[tuple[Found, np.ndarray | str]]:
    """Decode ahead in the pool, in order, at most `window` files in flight."""
    pending: deque[tuple[Found, Future[np.ndarray | str]]] = deque()
    source = iter(items)
    for item in source:
        pending.append((item, pool.submit(load, item, size)))
        if len(pending) >= window:
            break
    try:
        while pending:
            item, future = pending.popleft()
            nxt = next(source, None)
            if nxt is not None:
                pending.append((nxt, pool.submit(load, nxt, size)))
            yield item, future.result()
    finally:  # stopped early (cancel): do not decode what will not be used
        for _, future in pending:
            future.cancel()


def index_folder(
    lib: Library,
    folder: str | os.PathLike[str],
    *,
    batch_size: int = BATCH_SIZE,
    workers: int = 2,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    save_every: float = 60.0,
) -> IndexReport:
    """Bring the library up to date with `folder`; see the module docstring for the guarantees."""

    def encode(writer: Writer, todo: list[Found]) -> None:
        _encode_all(writer, todo, batch_size, workers, cancel)

    return update_library(lib, folder, encode, on_progress=on_progress, cancel=cancel, save_every=save_every)


def update_library(
    lib: Library,
    folder: str | os.PathLike[str],
    encode: Callable[[Writer, list[Found]], None],
    *,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    save_every: float = 60.0,
) -> IndexReport:
    """Diff `folder` against the catalog, drop what is gone, have `encode(writer, todo)` hand every file to do to
    the writer (here in threads, or on a Ray cluster: `ray_job`), save the index, then read the new photos' facts."""
    started = time.perf_counter()
    report = IndexReport()
    with lib.writing():
        known = lib.catalog.files()
        retry = _now_readable(lib)
        todo: list[Found] = []
        on_disk: set[str] = set()
        for found in scan(folder):
            on_disk.add(found.path)
            row = known.get(found.path)
            if row is None:
                todo.append(found)
            elif (
                (row.size, row.mtime_ns) != (found.size, found.mtime_ns)
                or (found.problem and row.status != "skipped")
                or found.path in retry
            ):
                todo.append(found)
            elif row.status == "skipped":
                report.skipped += 1  # still unreadable: `xmr skipped` keeps listing it
            else:
                report.unchanged += 1
        gone = [row.id for path, row in known.items() if path not in on_disk]
        index = lib.index  # loads + reconciles before we change anything
        if gone:
            with lib.catalog.transaction():
                lib.catalog.remove(gone)
            index.remove(gone)
            report.removed = len(gone)
        if todo:
            encode(Writer(lib, known, report, len(todo), started, on_progress, save_every), todo)
        if todo or gone or lib.index_unsaved:
            lib.save_index()
        if cancel is None or not cancel.is_set():
            report.facts_read = metadata.refresh(lib, cancel)  # date, camera, keywords: read once, kept current
    report.seconds = time.perf_counter() - started
    return report


def _now_readable(lib: Library) -> set[str]:
    """Skipped photos that this install can now read: HEIC/HEIF refused before the `heic` extra was installed."""
    waiting = {path for path, reason in lib.catalog.skipped() if reason.startswith(HEIF_MISSING)}
    return waiting if waiting and heif_supported() else set()


def load(found: Found, size: int) -> np.ndarray | str:
    """Pixels, or the reason the file is skipped; a file that changed while read is retried next run."""
    if found.problem:
        return found.problem
    try:
        pixels = load_pixels(found.path, size)
    except ImageSkipped as exc:
        return str(exc)
    try:
        after = os.stat(found.path)
    except OSError:
        return "file vanished while being read"
    if (after.st_size, after.st_mtime_ns) != (found.size, found.mtime_ns):
        return "file changed while being read (it will be retried on the next run)"
    return pixels


@dataclass
class Writer:
    """Writes what the encoders hand over into the library (the one writer, whoever encodes): unreadable files at
    once, encoded photos a batch at a time; counts each in the report and reports progress after it."""

    lib: Library
    known: dict[str, FileRow]  # the catalog before this run: a path in it is updated, not added
    report: IndexReport
    total: int  # files to (re)index in this run
    started: float
    on_progress: Callable[[Progress], None] | None
    save_every: float
    done: int = 0  # files fully handled (encoded and committed, or skipped)
    last_save: float = field(default_factory=time.perf_counter)

    def skip(self, found: Found, reason: str) -> None:
        lib, report = self.lib, self.report
        with lib.catalog.transaction():
            skipped_id = lib.catalog.put_skipped(found.path, found.size, found.mtime_ns, reason)
        lib.index.remove([skipped_id])
        report.skipped += 1
        report.new_skips.append((found.path, reason))
        self.done += 1
        self._progress()

    def commit(self, batch: list[Found], vectors: np.ndarray) -> None:
        """Commit encoded photos (the encoder's rows, in `batch`'s order) to the catalog, add them to the index
        (saved every `save_every` seconds)."""
        lib, report = self.lib, self.report
        if not batch:
            return
        feats = lib.catalog.as_stored(vectors)
        with lib.catalog.transaction():
            if lib.catalog.get_meta("dim") is None:
                lib.catalog.set_meta("dim", str(feats.shape[1]))
            ids = [lib.catalog.put_indexed(f.path, f.size, f.mtime_ns, v) for f, v in zip(batch, feats, strict=True)]
        lib.index.add(np.asarray(ids), lib.space.images(feats))
        for f in batch:
            if f.path in self.known:
                report.updated += 1
            else:
                report.added += 1
        report.encoded += len(batch)
        self.done += len(batch)
        self._progress(tuple(f.path for f in batch))
        if time.perf_counter() - self.last_save > self.save_every:
            lib.save_index()
            self.last_save = time.perf_counter()

    def cancel(self, pending: list[Found]) -> None:
        """Stop: the `pending` files (decoded or not, never committed) stay pending for the next run, and those the
        catalog lists as skipped are still skipped."""
        self.report.cancelled = True
        self.report.skipped += sum(1 for f in pending if (row := self.known.get(f.path)) and row.status == "skipped")

    def _progress(self, latest: tuple[str, ...] = ()) -> None:
        if self.on_progress is not None:
            elapsed = time.perf_counter() - self.started
            self.on_progress(Progress(self.done, self.total, self.report.skipped, elapsed, latest))


def _encode_all(
    writer: Writer, todo: list[Found], batch_size: int, workers: int, cancel: threading.Event | None
) -> None:
    """Decode `todo` in `workers` threads, in order, and hand each file to `writer`, `batch_size` photos a batch."""
    encoder = writer.lib.encoder
    writer.last_save = time.perf_counter()  # the model has loaded: the clock for the periodic saves starts now
    batch: list[tuple[Found, np.ndarray]] = []

    def flush() -> None:
        if batch:
            vectors = encoder.encode_images(np.stack([pixels for _, pixels in batch]))
            writer.commit([f for f, _ in batch], vectors)
            batch.clear()

    seen = 0  # todo items taken from the prefetcher
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="xmr-decode") as pool:
        for found, result in _prefetch(todo, encoder.image_size, pool, window=max(2 * batch_size, 8)):
            if cancel is not None and cancel.is_set():
                writer.cancel([f for f, _ in batch] + todo[seen:])
                return
            seen += 1
            if isinstance(result, str):
                writer.skip(found, result)
            else:
                batch.append((found, result))
                if len(batch) >= batch_size:
                    flush()
        flush()
