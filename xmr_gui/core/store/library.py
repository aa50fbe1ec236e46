"""A library = one database folder: the catalog, the vector index derived from it, and the model that built it.

db/catalog.sqlite      files + backbone vectors + meta (folder, model spec, backend)
db/index-<space>.*     the index over vectors in the search space (raw backbone or a checkpoint's space): an HNSW
                       graph, or a Qdrant or Lance store (`.qdrant`, `.lance`; a Lance table may live at a URI)
db/write.lock          held while indexing, so two writers never interleave (write.pid: by whom)
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..base import locks
from ..base.errors import XmrError
from ..learn.space import RawSpace, Space
from ..runtime.factory import load_encoder
from ..runtime.spec import Encoder, ModelError, ModelSpec
from .catalog import Catalog
from .locate import PORTABLE_DIR, catalog_file
from .vindex import HnswParams, IndexError_, VectorIndex, VectorStore, remove_stale_temps

if TYPE_CHECKING:
    from ..learn.checkpoint import Checkpoint

BACKENDS = ("hnsw", "qdrant", "lancedb")  # vindex.VectorIndex, qdrant_index.QdrantIndex, lance_index.LanceIndex


class LibraryError(XmrError):
    """A library that cannot be opened or written; the message says what to do."""


class LibraryBusy(LibraryError):
    """Another process holds the write lock."""


class Library:
    """Open with `Library.open(db_dir)` (existing) or `Library.create(db_dir, folder, spec)`."""

    def __init__(self, db_dir: str | os.PathLike[str], catalog: Catalog) -> None:
        self.db_dir = Path(db_dir)
        self.catalog = catalog
        self._encoder: Encoder | None = None
        self._space: Space | None = None
        self._index: VectorStore | None = None
        self._dirty = False  # the in-memory index differs from the saved one
        self.checkpoint: Checkpoint | None = None
        self.device = "auto"
        self.hnsw_params = HnswParams()
        self._writer = False  # this process holds the write lock (`writing`)

    # -- opening ------------------------------------------------------------------------------
    @classmethod
    def open(cls, db_dir: str | os.PathLike[str]) -> Library:
        db_dir = Path(db_dir)
        catalog = Catalog(catalog_file(db_dir), readonly=True)
        lib = cls(db_dir, catalog)
        if lib.catalog.get_meta("model") is None:
            catalog.close()
            raise LibraryError(f"{db_dir} holds no index yet: run `xmr index FOLDER` first")
        lib._follow_portable_folder()
        ckpt = lib.catalog.get_meta("checkpoint")
        if ckpt:
            lib.attach_checkpoint(ckpt, remember=False)
        return lib

    def _follow_portable_folder(self) -> None:
        """A portable library (FOLDER/.xmr) whose drive is now mounted elsewhere: re-root its paths, no re-encoding."""
        stored = self.catalog.get_meta("folder")
        here = str(self.db_dir.resolve().parent)
        if self.db_dir.name == PORTABLE_DIR and stored and stored != here:
            with self.catalog.transaction():
                self.catalog.rebase(stored, here)
                self.catalog.set_meta("folder", here)

    def attach_checkpoint(self, path: str | os.PathLike[str], remember: bool = True) -> None:
        """Search in a trained checkpoint's space; `remember` stores it as the library's checkpoint."""
        from ..learn.checkpoint import Checkpoint, CheckpointError

        try:
            ckpt = Checkpoint.load(path)
        except CheckpointError as exc:
            raise LibraryError(str(exc)) from None
        self.use_space(ckpt.space())
        self.checkpoint = ckpt
        if remember:
            self.catalog.set_meta("checkpoint", str(Path(path).resolve()))

    @classmethod
    def create(cls, db_dir: str | os.PathLike[str], folder: str | os.PathLike[str], spec: ModelSpec) -> Library:
        """Open or make the library for `folder`; a different model than the stored one clears its vectors."""
        db_dir = Path(db_dir)
        db_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(db_dir)
        catalog = Catalog(catalog_file(db_dir))
        lib = cls(db_dir, catalog)
        folder = os.path.abspath(os.fspath(folder))
        lib._follow_portable_folder()
        stored = catalog.get_meta("folder")
        if stored is not None and stored != folder:
            catalog.close()
            raise LibraryError(f"database {db_dir} belongs to {stored}, not {folder}: give another --db")
        with catalog.transaction():
            catalog.set_meta("folder", folder)
            old = catalog.get_meta("model")
            if old is None or ModelSpec.from_json(old).identity() != spec.identity():
                catalog.clear()
                catalog.set_meta("model", spec.to_json())
                catalog.set_meta("model_identity", spec.identity())
        return lib

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
        self.catalog.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def folder(self) -> str:
        return self.catalog.get_meta("folder") or ""

    @property
    def spec(self) -> ModelSpec:
        text = self.catalog.get_meta("model")
        if text is None:
            raise LibraryError("library has no model")
        return ModelSpec.from_json(text)

    def record_preparation(self, prepared_json: str) -> None:
        """Keep what `prepare.prepare_model` decided (precision and why) with the library, for `xmr doctor`."""
        self.catalog.set_meta("preparation", prepared_json)

    def preparation(self) -> dict[str, Any]:
        text = self.catalog.get_meta("preparation")
        try:
            value = json.loads(text) if text else {}
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    # -- model + space ------------------------------------------------------------------------
    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = load_encoder(self.spec, self.device)
        return self._encoder

    def model_name(self) -> str:
        """Which model answers this library's searches, short: the checkpoint's file (and how much its search is
        the backbone's, when its card blends them), else the backbone's spec."""
        spec = self.spec
        backbone = f"{spec.model} ({spec.weights if spec.weights_kind != 'file' else Path(spec.weights).name})"
        if spec.precision != "fp32":
            backbone += f" {spec.precision}"
        if self.checkpoint is not None:
            share = self.checkpoint.backbone_share  # how much of the search is the backbone's own (learn.space.blend)
            how = (
                ""
                if share == 0
                else " (search: the backbone's own)"
                if share == 1
                else f" (search: {share:.0%} backbone)"
            )
            return f"checkpoint {Path(self.checkpoint.path).name}{how} on {backbone}"
        return backbone

    def use_encoder(self, encoder: Encoder) -> None:
        """Run with an encoder the caller already has (e.g. one shared across libraries)."""
        if encoder.identity != self.spec.identity():
            raise ModelError(f"encoder {encoder.identity} is not this library's model {self.spec.identity()}")
        self._encoder = encoder

    @property
    def space(self) -> Space:
        if self._space is None:
            self._space = RawSpace(self.spec.identity())
        return self._space

    def use_space(self, space: Space) -> None:
        """Search in another space (a checkpoint's); the index for it is built from stored vectors."""
        if space.backbone_identity.removesuffix("+int8") != self.spec.identity().removesuffix("+int8"):
            # int8 is the same weights run faster: a checkpoint trained on fp32 features serves it
            raise ModelError(
                f"checkpoint was trained on backbone {space.backbone_identity}, but this library was indexed with "
                f"{self.spec.identity()}: re-index with the checkpoint's backbone "
                "(`xmr index FOLDER --checkpoint FILE`)"
            )
        self._space = space
        self._index = None

    @property
    def dim(self) -> int:
        dim = self.catalog.get_meta("dim")
        if dim is None:
            return self.encoder.dim
        return int(dim)

    # -- index --------------------------------------------------------------------------------
    def _index_stem(self) -> str:
        return "index-" + hashlib.sha256(self.space.identity.encode()).hexdigest()[:12]

    @property
    def backend(self) -> str:
        """'hnsw' (hnswlib, the default), 'qdrant' (qdrant-client) or 'lancedb' (a Lance table); docs/scaling.md."""
        return self.catalog.get_meta("backend", "hnsw") or "hnsw"

    def set_backend(self, backend: str, lance_uri: str | None = None) -> None:
        """Switch the vector index: it is rebuilt from the catalog's vectors on next use, nothing is re-encoded.
        lance_uri: where lancedb keeps the table (a folder or a URI LanceDB opens; default: this library's folder)."""
        if backend not in BACKENDS:
            raise LibraryError(f"unknown backend {backend!r}: use {', '.join(BACKENDS)}")
        if lance_uri is not None and backend != "lancedb":
            raise LibraryError("a Lance URI is for the lancedb backend: add --backend lancedb")
        changed = backend != self.backend
        if lance_uri is not None:
            from .lance_index import check_uri

            lance_uri = lance_uri if "://" in lance_uri else os.path.abspath(lance_uri)
            check_uri(lance_uri)
            changed |= lance_uri != self.catalog.get_meta("lance_uri")
            with self.catalog.transaction():
                self.catalog.set_meta("lance_uri", lance_uri)
                if not self.catalog.get_meta("library_key"):  # names its tables apart from other libraries'
                    self.catalog.set_meta("library_key", uuid.uuid4().hex[:12])
        if changed:
            self.catalog.set_meta("backend", backend)
            self._index = None

    def _lance_place(self) -> tuple[str | None, str]:
        """(the URI the user gave or None for this folder, the table's name there)."""
        uri = self.catalog.get_meta("lance_uri")
        return (
            uri,
            self._index_stem() if uri is None else f"{self._index_stem()}-{self.catalog.get_meta('library_key')}",
        )

    def _empty_index(self, dim: int, capacity: int = 1024) -> VectorStore:
        if self.backend == "qdrant":
            from .qdrant_index import QdrantIndex

            for old in self.db_dir.glob(f"{self._index_stem()}.qdrant"):
                import shutil

                shutil.rmtree(old)
            return QdrantIndex(dim, self.db_dir, self._index_stem())
        if self.backend == "lancedb":
            from .lance_index import LanceIndex

            return LanceIndex.create(self.db_dir, *self._lance_place(), dim)
        return VectorIndex(dim, self.hnsw_params, capacity=capacity)

    def _saved_index(self) -> tuple[VectorStore, dict[str, Any]] | None:
        if self.backend == "qdrant":
            from .qdrant_index import QdrantIndex

            return QdrantIndex.load(self.db_dir, self._index_stem())
        if self.backend == "lancedb":
            from .lance_index import LanceIndex

            return LanceIndex.load(self.db_dir, self._index_stem(), *self._lance_place())
        return VectorIndex.load(self.db_dir, self._index_stem())

    @property
    def index(self) -> VectorStore:
        """The vector index for the current space, loaded and reconciled with the catalog."""
        if self._index is None:
            if self.backend == "hnsw" or self._writer:
                self._index, self._dirty = self._load_reconciled()
                if self._dirty:
                    self._save_repaired()
            else:
                self._index = self._load_stored()
        return self._index

    def _load_stored(self) -> VectorStore:
        """Qdrant and LanceDB change their own storage with every add: only the holder of the write lock repairs
        them. Another process, while one holds it, reads the saved index as it is (its rows are written before the
        manifest), or, before the first save, an in-memory one built from the catalog."""
        try:
            with self.writing():
                index, self._dirty = self._load_reconciled()
                self._index = index
                if self._dirty:
                    self.save_index()
                return index
        except (LibraryBusy, OSError):
            pass
        try:
            loaded = self._saved_index()
        except IndexError_:
            loaded = None
        if loaded is not None:
            return loaded[0]
        ids, feats = self.catalog.indexed_vectors(self.dim)
        index = VectorIndex(self.space.dim or self.dim, self.hnsw_params, capacity=len(ids) + 1024)
        index.add(ids, self.space.images(feats))
        return index

    def _save_repaired(self) -> None:
        """Keep what reconciling built (a checkpoint space's first index, rows after a crash), so the next
        process loads it instead of rebuilding: a search with --checkpoint on 500 photos spent 57 ms of its
        0.6 s re-projecting and re-inserting every vector, on every run. Skipped when another process (or this
        one, further up the stack) holds the write lock — it saves its own — or the folder is read-only."""
        try:
            with self.writing():
                self.save_index()
        except (LibraryBusy, OSError):
            pass

    def _load_reconciled(self) -> tuple[VectorStore, bool]:
        try:
            loaded = self._saved_index()
        except IndexError_:
            loaded = None  # damaged: the catalog has every vector, so rebuild
        dim = self.dim
        if self.catalog.count() == 0 and loaded is None:
            return self._empty_index(self.space.dim or dim), False
        if loaded is None:
            ids, feats = self.catalog.indexed_vectors(dim)
            index = self._empty_index(self.space.dim or dim, capacity=len(ids) + 1024)
            index.add(ids, self.space.images(feats))
            return index, True
        index, meta = loaded
        changed = False
        # Rows written after the index was saved (a crash between catalog commit and index save).
        ids, feats = self.catalog.indexed_changed_since(int(meta.get("seq", 0)), dim)
        if len(ids):
            index.add(ids, self.space.images(feats))
            changed = True
        stale = index.ids() - {int(i) for i in self.catalog.indexed_ids()}
        if stale:
            index.remove(list(stale))
            changed = True
        return index, changed

    @property
    def index_unsaved(self) -> bool:
        """The index in memory differs from the saved one (it was repaired on load and could not be saved then)."""
        return self._dirty

    def indexed_count(self) -> int:
        """How many photos are searchable: the index's size once loaded, else the catalog's count (no load)."""
        return len(self._index) if self._index is not None else self.catalog.count()

    def save_index(self) -> None:
        if self._index is not None:
            self._index.save(self.db_dir, self._index_stem(), {"seq": self.catalog.seq, "space": self.space.identity})
            self._dirty = False

    # -- locking ------------------------------------------------------------------------------
    @contextmanager
    def writing(self) -> Iterator[None]:
        """Exclusive right to change this library; refuses at once if another process holds it."""
        owner = self.db_dir / "write.pid"  # beside the lock: filelock offers no way to write into its own file
        with ExitStack() as held:
            try:
                held.enter_context(locks.hold(self.db_dir / "write.lock", wait=False))
            except locks.LockHeld:
                raise LibraryBusy(
                    f"another xmr process (pid {_read_pid(owner)}) is indexing {self.db_dir}; wait for it to finish"
                ) from None
            owner.write_text(str(os.getpid()))
            held.callback(owner.unlink, missing_ok=True)  # before the lock is released: the next holder writes its own
            self._writer = True
            held.callback(setattr, self, "_writer", False)
            yield


def _read_pid(path: Path) -> str:
    try:
        return path.read_text().strip() or "?"
    except OSError:
        return "?"
