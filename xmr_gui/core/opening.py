"""The one front door into a photo folder's library: every front end opens a library here.

`open_folder` (for writing: `xmr index`, the window's Session, `xmr demo`) takes a typed `OpenRequest` and does,
in this order: check the folder, find where its library lives (`store.locate`), decide the model
(`models.decide`), pick the backbone that encodes (`learn.checkpoint.choose_backbone`), make it ready
(`runtime.prepare.prepare_model`: download, export, int8 check), create or open the library, record how the model
was prepared, and attach the checkpoint. It returns the library with the decision that was made and why.

`open_existing` (for reading: `xmr search`, `describe`, `suggest`, `skipped`, `map`, `export`, `doctor`) finds an
indexed library from a `FindRequest` (--db, a folder or one of its parents, else the last one indexed) and opens it,
in a checkpoint's space when one is given.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .base.errors import XmrError
from .base.progress import Step, quiet
from .models import Decision, ModelWish, decide, stored_choice
from .runtime.spec import Device, Precision
from .store.locate import find_library, library_dir, most_recent_library

if TYPE_CHECKING:
    from .runtime.prepare import Prepared
    from .store.library import Library


class FolderError(XmrError):
    """A photo folder that cannot be opened (missing, not a folder, not readable)."""


class NotIndexed(XmrError):
    """No indexed library where one was looked for; the message says which command makes one."""


@dataclass(frozen=True)
class OpenRequest:
    """Everything that decides how a folder's library is opened for writing.

    folder: the photo folder, as the user gave it (messages name it so). db: the library's folder (default: the
    folder's own, see `store.locate`); portable: keep it inside the photo folder. rebuild: forget the library first.
    backend, storage: switch the vector index or the catalog's vector storage (None: keep the library's);
    lance_uri: where the lancedb backend keeps its table (implies backend lancedb)."""

    folder: str | os.PathLike[str]
    wish: ModelWish = ModelWish()
    db: Path | None = None
    portable: bool = False
    device: Device = Device.AUTO
    precision: Precision = Precision.AUTO
    offline: bool = False
    backend: str | None = None
    lance_uri: str | None = None
    storage: str | None = None
    rebuild: bool = False


@dataclass
class Opened:
    """A library opened for writing, with the model decision (what and why) and how the model was prepared."""

    library: Library
    decision: Decision
    prepared: Prepared

    @property
    def db(self) -> Path:
        return self.library.db_dir

    def __enter__(self) -> Opened:
        return self

    def __exit__(self, *exc: object) -> None:
        self.library.close()


def checked_folder(folder: str | os.PathLike[str]) -> str:
    """The absolute path of a readable photo folder (FolderError naming the folder as given otherwise)."""
    path = os.path.abspath(os.fspath(folder))
    if not os.path.isdir(path):
        raise FolderError(f"{os.fspath(folder)} is not a folder")
    if not os.access(path, os.R_OK | os.X_OK):
        raise FolderError(f"{os.fspath(folder)} cannot be read (permission denied)")
    return path


def open_folder(
    request: OpenRequest,
    *,
    on_decision: Callable[[Decision], None] | None = None,
    on_step: Step = quiet,
    on_bytes: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> Opened:
    """Open (or create) the library of `request.folder` with the model the request decides.

    on_decision hears the decision before the model is prepared (which may download or export for a while);
    on_step each preparation step; on_bytes(done, total) a download's bytes; `cancel` stops a download or export."""
    from .learn.checkpoint import choose_backbone
    from .runtime.prepare import prepare_model
    from .store.library import Library

    folder = checked_folder(request.folder)
    db = library_dir(folder, request.db, request.portable)
    if request.rebuild and db.exists():
        shutil.rmtree(db)
    decision = decide(folder, request.wish, stored_choice(db))
    if on_decision is not None:
        on_decision(decision)
    prepared = prepare_model(
        choose_backbone(decision.checkpoint, decision.spec),
        request.precision,
        request.device,
        offline=request.offline,
        on_step=on_step,
        cancel=cancel,
        on_bytes=on_bytes,
    )
    lib = Library.create(db, folder, prepared.spec)
    try:
        lib.record_preparation(prepared.to_json())
        lib.device = request.device
        if request.backend or request.lance_uri:
            lib.set_backend(request.backend or "lancedb", request.lance_uri)
        if request.storage:
            lib.catalog.set_vector_storage(request.storage)
        if decision.checkpoint is not None:
            lib.attach_checkpoint(decision.checkpoint)
    except BaseException:
        lib.close()
        raise
    return Opened(lib, decision, prepared)


@dataclass(frozen=True)
class FindRequest:
    """Which indexed library to read: `db` when given; else the library of `folder` (or of `near`, or of the
    current directory) or of its nearest indexed parent; else, when `anywhere`, the current directory's or the
    last one indexed.
    checkpoint: search in its space (not remembered by the library)."""

    db: Path | None = None
    folder: str | None = None
    near: str | None = None
    checkpoint: Path | None = None
    anywhere: bool = True

    @property
    def start(self) -> str:
        """The folder the search starts from."""
        return self.folder or self.near or os.getcwd()


@dataclass
class Found:
    library: Library
    elsewhere: bool  # the library found is not of the folder looked from (the last one indexed, or --db)


def locate(request: FindRequest) -> Path | None:
    """The library folder `request` names, or None when there is none."""
    if request.db is not None:
        return request.db
    found = find_library(request.start)
    if found is None and request.anywhere:
        found = find_library(os.getcwd()) or most_recent_library()
    return found


def open_existing(request: FindRequest) -> Found:
    """Open the indexed library `request` names (NotIndexed when there is none)."""
    from .store.library import Library

    db = locate(request)
    if db is None:
        if request.anywhere:
            raise NotIndexed("no indexed folder yet: run `xmr index FOLDER` first (or pass --db)")
        where = request.start
        raise NotIndexed(f"{where} is not indexed yet: run `xmr index {where}` first (or pass --db)")
    lib = Library.open(db)
    try:
        if request.checkpoint is not None:
            lib.attach_checkpoint(request.checkpoint, remember=False)
    except BaseException:
        lib.close()
        raise
    elsewhere = request.db is None and not Path(request.start).resolve().is_relative_to(Path(lib.folder))
    return Found(lib, elsewhere)
