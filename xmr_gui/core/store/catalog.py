"""The catalog: one SQLite file listing every photo (path, size, mtime, status, reason) and its vector.

The catalog is the source of truth; the HNSW index is derived from it and can always be repaired or rebuilt
from the vectors stored here. Paths are stored as bytes (`os.fsencode`) so non-UTF-8 file names survive.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..base.errors import XmrError
from .photo_meta import ensure_tables

VERSION = 1  # the schema this xmr creates
# The newest schema it reads. v2 = v1 + fp16 vector rows; a library gets it only when fp16 storage is chosen, so
# an older xmr (which reads only float32) refuses such a library with "upgrade xmr" instead of misreading it.
READABLE = 2
# Step-by-step migrations: MIGRATIONS[v] takes a database at version v to v + 1.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    0: (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE files (
            id INTEGER PRIMARY KEY,
            path BLOB NOT NULL UNIQUE,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('indexed', 'skipped')),
            reason TEXT,
            vector BLOB,
            seq INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX files_status ON files (status)",
        "CREATE INDEX files_seq ON files (seq)",
        "INSERT INTO meta (key, value) VALUES ('seq', '0')",
    ),
}


# Vector storage in the catalog. fp16 halves its size; search quality is unchanged (bench/RESULTS.md: recall@10
# of the index built from fp16-stored vectors against fp32 truth). Each row says its own dtype by its length.
STORAGE_DTYPES: dict[str, type[np.floating]] = {"fp32": np.float32, "fp16": np.float16}


def decode_vector(blob: bytes, count: int) -> np.ndarray:
    """`count` float values from a blob of float32 or float16 (told apart by the blob's length), as float32."""
    if len(blob) == 2 * count:
        return np.frombuffer(blob, dtype=np.float16).astype(np.float32)
    if len(blob) == 4 * count:
        return np.frombuffer(blob, dtype=np.float32)
    raise CatalogError(f"a stored vector has {len(blob)} bytes, which is neither fp32 nor fp16 for {count} values")


class CatalogError(XmrError):
    """The catalog cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class FileRow:
    id: int
    size: int
    mtime_ns: int
    status: str


class Catalog:
    """sqlite3 wrapper with a schema version; use as a context manager."""

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly and not self.path.exists():
            raise CatalogError(f"no catalog at {self.path}: index a folder first (`xmr index FOLDER`)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Callers serialise access (the GUI's worker threads take turns), so any thread may use it.
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
            ensure_tables(self._db)  # the photos' facts (photo_meta.py): additive, no schema version
        except sqlite3.DatabaseError as exc:
            raise CatalogError(
                f"catalog {self.path} is damaged ({exc}); rebuild it with `xmr index FOLDER --rebuild` "
                "(your photos are never touched)"
            ) from None

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > READABLE:
            raise CatalogError(
                f"catalog {self.path} has schema v{version}, newer than this xmr reads (v{READABLE}); upgrade xmr"
            )
        while version < VERSION:
            with self.transaction():
                for statement in MIGRATIONS[version]:
                    self._db.execute(statement)
                version += 1
                self._db.execute(f"PRAGMA user_version={version}")

    def close(self) -> None:
        self._db.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """The SQLite connection, for the store's own modules (photo_meta.py) that keep tables beside `files`."""
        return self._db

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- meta ---------------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- files --------------------------------------------------------------------------------
    def files(self) -> dict[str, FileRow]:
        """Every catalogued file by path."""
        rows = self._db.execute("SELECT path, id, size, mtime_ns, status FROM files")
        return {os.fsdecode(p): FileRow(i, s, m, st) for p, i, s, m, st in rows}

    @property
    def vector_storage(self) -> str:
        """'fp32' (default) or 'fp16': how vectors written from now on are stored (reads accept both)."""
        return self.get_meta("vector_storage", "fp32") or "fp32"

    def set_vector_storage(self, storage: str) -> None:
        if storage not in STORAGE_DTYPES:
            raise CatalogError(f"unknown vector storage {storage!r}: use fp32 or fp16")
        self.set_meta("vector_storage", storage)
        if storage == "fp16" and self._db.execute("PRAGMA user_version").fetchone()[0] < 2:
            self._db.execute("PRAGMA user_version = 2")

    def _storage_dtype(self) -> type[np.floating]:
        # Read from meta at each use (one indexed SELECT), so a change made by another process applies at once.
        return STORAGE_DTYPES.get(self.vector_storage, np.float32)

    def as_stored(self, vectors: np.ndarray) -> np.ndarray:
        """`vectors` as they will read back from this catalog (rounded through fp16 when that is the storage),
        so an index built now holds exactly what a rebuild from the catalog would."""
        dtype = self._storage_dtype()
        return vectors if dtype == np.float32 else vectors.astype(dtype).astype(np.float32)

    def put_indexed(self, path: str, size: int, mtime_ns: int, vector: np.ndarray) -> int:
        """Insert or update one indexed file; returns its id (kept on update, so the index slot is reused)."""
        blob = np.ascontiguousarray(vector, dtype=self._storage_dtype()).tobytes()
        return self._put(path, size, mtime_ns, "indexed", None, blob)

    def put_skipped(self, path: str, size: int, mtime_ns: int, reason: str) -> int:
        return self._put(path, size, mtime_ns, "skipped", reason, None)

    def _put(self, path: str, size: int, mtime_ns: int, status: str, reason: str | None, blob: bytes | None) -> int:
        # `seq` grows with every write, so an index saved at seq S knows exactly which rows changed since.
        seq = self._db.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'seq' RETURNING value"
        ).fetchone()[0]
        row = self._db.execute(
            """INSERT INTO files (path, size, mtime_ns, status, reason, vector, seq) VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
               status = excluded.status, reason = excluded.reason, vector = excluded.vector, seq = excluded.seq
               RETURNING id""",
            (os.fsencode(path), size, mtime_ns, status, reason, blob, int(seq)),
        ).fetchone()
        return int(row[0])

    @property
    def seq(self) -> int:
        return int(self.get_meta("seq", "0") or 0)

    def indexed_changed_since(self, seq: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of indexed rows written after `seq`."""
        return self._vectors_where("status = 'indexed' AND seq > ?", (seq,), dim)

    def remove(self, ids: Iterable[int]) -> None:
        self._db.executemany("DELETE FROM files WHERE id = ?", ((int(i),) for i in ids))

    def clear(self) -> None:
        """Forget every file (the model changed, so every vector is stale), and the vector size with them."""
        self._db.execute("DELETE FROM files")
        self._db.execute("DELETE FROM meta WHERE key = 'dim'")

    def indexed_vectors(self, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids int64 (n,), vectors float32 (n, dim)) of every indexed file, in id order."""
        return self._vectors_where("status = 'indexed'", (), dim)

    def _vectors_where(self, where: str, args: tuple[object, ...], dim: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self._db.execute(f"SELECT id, vector FROM files WHERE {where} ORDER BY id", args).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        sizes = {len(r[1]) for r in rows}
        if len(sizes) <= 1:  # one storage throughout: decode all rows at once
            blob = b"".join(r[1] for r in rows)
            return ids, decode_vector(blob, dim * len(rows)).reshape(len(rows), dim)
        return ids, np.stack([decode_vector(r[1], dim) for r in rows])  # storage changed midway: row by row

    def indexed_ids(self) -> np.ndarray:
        rows = self._db.execute("SELECT id FROM files WHERE status = 'indexed'").fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def vectors_for(self, ids: Sequence[int], dim: int) -> np.ndarray:
        """The stored vectors of `ids`, in that order (zeros for an id with none), read in chunks of one query and
        decoded at once (a filtered search reads thousands)."""
        out = np.zeros((len(ids), dim), np.float32)
        if not len(ids):
            return out
        wanted = np.asarray(ids, dtype=np.int64)
        keys = np.unique(wanted).tolist()
        found_ids: list[int] = []
        blobs: list[bytes] = []
        for start in range(0, len(keys), 900):  # below SQLite's smallest limit on bound parameters (999)
            chunk = keys[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for i, blob in self._db.execute(f"SELECT id, vector FROM files WHERE id IN ({marks})", chunk):
                if blob is not None:
                    found_ids.append(int(i))
                    blobs.append(blob)
        if not blobs:
            return out
        if len({len(b) for b in blobs}) == 1:  # one storage throughout
            rows = decode_vector(b"".join(blobs), dim * len(blobs)).reshape(len(blobs), dim)
        else:
            rows = np.stack([decode_vector(b, dim) for b in blobs])
        order = np.argsort(found_ids)
        sorted_ids = np.asarray(found_ids, dtype=np.int64)[order]
        at = np.searchsorted(sorted_ids, wanted).clip(0, len(sorted_ids) - 1)
        hit = sorted_ids[at] == wanted  # every position that asked for a stored id
        out[hit] = rows[order[at[hit]]]
        return out

    def paths_for(self, ids: Sequence[int]) -> list[str | None]:
        out: list[str | None] = []
        for i in ids:
            row = self._db.execute("SELECT path FROM files WHERE id = ?", (int(i),)).fetchone()
            out.append(os.fsdecode(row[0]) if row else None)
        return out

    def rebase(self, old: str, new: str) -> int:
        """Move every path under folder `old` to folder `new` (a portable library on a drive mounted elsewhere)."""
        old_b, new_b = os.fsencode(old.rstrip(os.sep) + os.sep), os.fsencode(new.rstrip(os.sep) + os.sep)
        rows = self._db.execute("SELECT id, path FROM files").fetchall()
        moved = [(new_b + p[len(old_b) :], i) for i, p in rows if bytes(p).startswith(old_b)]
        self._db.executemany("UPDATE files SET path = ? WHERE id = ?", moved)
        return len(moved)

    def paths_by_id(self) -> dict[int, str]:
        """Every indexed file's path by id, in one query."""
        rows = self._db.execute("SELECT id, path FROM files WHERE status = 'indexed'")
        return {int(i): os.fsdecode(p) for i, p in rows}

    def id_for_path(self, path: str) -> int | None:
        row = self._db.execute(
            "SELECT id FROM files WHERE path = ? AND status = 'indexed'", (os.fsencode(path),)
        ).fetchone()
        return int(row[0]) if row else None

    def skipped(self) -> list[tuple[str, str]]:
        rows = self._db.execute("SELECT path, reason FROM files WHERE status = 'skipped' ORDER BY path")
        return [(os.fsdecode(p), r or "") for p, r in rows]

    def count(self, status: str = "indexed") -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM files WHERE status = ?", (status,)).fetchone()[0])
