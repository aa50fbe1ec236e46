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


def _load(found: Found, size: int) -> np.ndarray | str:
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


def _prefetch(
    items: Iterable[Found], size: int, pool: ThreadPoolExecutor, window: int
) -> Iterator[tuple[Found, np.ndarray | str]]:
    """Decode ahead in the pool, in order, at most `window` files in flight."""
    pending: deque[tuple[Found, Future[np.ndarray | str]]] = deque()
    source = iter(items)
    for item in source:
        pending.append((item, pool.submit(_load, item, size)))
        if len(pending) >= window:
            break
    try:
        while pending:
            item, future = pending.popleft()
            nxt = next(source, None)
            if nxt is not None:
                pending.append((nxt, pool.submit(_load, nxt, size)))
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
            _encode_all(lib, todo, known, report, batch_size, workers, on_progress, cancel, save_every, started)
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


def _encode_all(
    lib: Library,
    todo: list[Found],
    known: dict[str, FileRow],
    report: IndexReport,
    batch_size: int,
    workers: int,
    on_progress: Callable[[Progress], None] | None,
    cancel: threading.Event | None,
    save_every: float,
    started: float,
) -> None:
    encoder = lib.encoder
    size = encoder.image_size
    last_save = time.perf_counter()
    done = 0  # files fully handled (encoded and committed, or skipped)
    batch: list[tuple[Found, np.ndarray]] = []

    def report_progress(latest: tuple[str, ...] = ()) -> None:
        if on_progress is not None:
            on_progress(Progress(done, len(todo), report.skipped, time.perf_counter() - started, latest))

    def flush() -> None:
        nonlocal last_save, done
        if not batch:
            return
        feats = lib.catalog.as_stored(encoder.encode_images(np.stack([pixels for _, pixels in batch])))
        with lib.catalog.transaction():
            if lib.catalog.get_meta("dim") is None:
                lib.catalog.set_meta("dim", str(feats.shape[1]))
            ids = [
                lib.catalog.put_indexed(f.path, f.size, f.mtime_ns, v) for (f, _), v in zip(batch, feats, strict=False)
            ]
        lib.index.add(np.asarray(ids), lib.space.images(feats))
        for f, _ in batch:
            if f.path in known:
                report.updated += 1
            else:
                report.added += 1
        report.encoded += len(batch)
        done += len(batch)
        latest = tuple(f.path for f, _ in batch)
        batch.clear()
        report_progress(latest)
        if time.perf_counter() - last_save > save_every:
            lib.save_index()
            last_save = time.perf_counter()

    seen = 0  # todo items taken from the prefetcher
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="xmr-decode") as pool:
        for found, result in _prefetch(todo, size, pool, window=max(2 * batch_size, 8)):
            if cancel is not None and cancel.is_set():
                report.cancelled = True
                break
            seen += 1
            if isinstance(result, str):
                with lib.catalog.transaction():
                    skipped_id = lib.catalog.put_skipped(found.path, found.size, found.mtime_ns, result)
                lib.index.remove([skipped_id])
                report.skipped += 1
                report.new_skips.append((found.path, result))
                done += 1
                report_progress()
            else:
                batch.append((found, result))
                if len(batch) >= batch_size:
                    flush()
        if not report.cancelled:
            flush()
        else:
            # Decoded but not encoded, or never reached: they stay pending for the next run, and those the
            # catalog lists as skipped are still skipped.
            pending = [f for f, _ in batch] + todo[seen:]
            batch.clear()
            report.skipped += sum(1 for f in pending if (row := known.get(f.path)) and row.status == "skipped")
