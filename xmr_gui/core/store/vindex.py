"""An HNSW index (hnswlib, inner product on unit vectors) keyed by catalog ids, saved atomically.

`VectorStore` is what a library needs of any index; `VectorIndex` here, `qdrant_index.QdrantIndex` and
`lance_index.LanceIndex` are the three.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..base.errors import XmrError
from ..base.files import atomic_write, atomic_write_text, save_npy

# Below this many vectors an exact matrix product is both faster and exact.
EXACT_BELOW = 2048


class IndexError_(XmrError):
    """The index file cannot be used; the catalog can rebuild it."""


@dataclass(frozen=True)
class HnswParams:
    M: int = 16
    ef_construction: int = 200
    ef: int = 128  # the least ef that keeps recall@10 >= 0.99 on 100k real-model vectors (96 gave 0.989)


LARGE = 500_000  # from here on, at least LARGE_EF
LARGE_EF = 256  # 1M vectors with a real model's structure: ef 128 gave 0.992 on an easier stand-in, 256 0.9985


def query_ef(params: HnswParams, n: int, k: int) -> int:
    """The ef a query of k runs with over n vectors: the index's own (never less than the default, so a library
    written with an older, smaller default gets the measured one), more at a million, and at least k
    (bench/RESULTS.md "Vector search at scale")."""
    return max(params.ef, HnswParams.ef, LARGE_EF if n >= LARGE else 0, k)


def remove_stale_temps(folder: Path) -> None:
    """Leftovers of an interrupted save: temp files, and generations no manifest names (never valid)."""
    for stale in folder.glob(".*.tmp"):
        stale.unlink(missing_ok=True)
    current = {}
    for manifest in folder.glob("index-*.json"):
        current[manifest.stem] = _read_manifest(manifest).get("generation")
    for part in [*folder.glob("index-*-*.hnsw"), *folder.glob("index-*-*.ids.npy")]:
        stem, _, rest = part.name.partition(".")[0].rpartition("-")
        if str(current.get(stem)) != rest:
            part.unlink(missing_ok=True)


class VectorStore(Protocol):
    """A vector index keyed by catalog ids: what a library searches, whichever backend serves it."""

    dim: int

    def __len__(self) -> int: ...

    def ids(self) -> set[int]:
        """The catalog ids it holds."""

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Insert or replace unit vectors under `ids`."""

    def remove(self, ids: np.ndarray | list[int]) -> None: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids (q, k'), cosine scores (q, k')) best first, k' = min(k, len(self))."""

    def search_among(self, query: np.ndarray, k: int, allowed: set[int]) -> tuple[np.ndarray, np.ndarray]:
        """(ids, scores) of the best k of `allowed` for one query, each one allowed; fewer than k when the index
        reaches fewer (the caller then ranks them exactly)."""

    def save(self, folder: str | os.PathLike[str], stem: str, meta: dict[str, object] | None = None) -> None:
        """Make what it holds durable under `stem` in `folder`, with `meta` in its manifest."""

    def close(self) -> None:
        """Release what it holds open (a database client); the index stays on disk."""


class LiveIds:
    """What every index backend keeps the same way: the set of catalog ids it holds, and input checks."""

    _live: set[int]

    def __len__(self) -> int:
        return len(self._live)

    def ids(self) -> set[int]:
        return set(self._live)

    @staticmethod
    def _inputs(ids: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(ids, dtype=np.int64), np.ascontiguousarray(vectors, dtype=np.float32)


class VectorIndex(LiveIds):
    """hnswlib wrapper: grows on demand, deletes by mark, searches with k clipped to what it holds."""

    def __init__(self, dim: int, params: HnswParams = HnswParams(), capacity: int = 1024) -> None:
        import hnswlib

        self.dim = dim
        self.params = params
        self._index = hnswlib.Index(space="ip", dim=dim)
        self._index.init_index(
            max_elements=max(capacity, 16), M=params.M, ef_construction=params.ef_construction, random_seed=100
        )
        self._index.set_ef(params.ef)
        self._live: set[int] = set()
        self._exact_cache: tuple[np.ndarray, np.ndarray] | None = None

    # -- contents ---------------------------------------------------------------------------
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Insert or replace vectors under `ids` (a deleted id comes back to life)."""
        ids, vectors = self._inputs(ids, vectors)
        if len(ids) == 0:
            return
        needed = self._index.get_current_count() + len(ids)
        if needed > self._index.get_max_elements():
            self._index.resize_index(max(needed, 2 * self._index.get_max_elements()))
        self._index.add_items(vectors, ids, num_threads=1 if len(ids) < 64 else -1)
        self._live.update(int(i) for i in ids)
        self._exact_cache = None

    def remove(self, ids: np.ndarray | list[int]) -> None:
        for i in ids:
            i = int(i)
            if i in self._live:
                self._index.mark_deleted(i)
                self._live.discard(i)
                self._exact_cache = None

    def close(self) -> None:
        """Nothing to release: the graph is memory only."""

    def vectors(self, ids: list[int]) -> np.ndarray:
        return np.asarray(self._index.get_items(ids), dtype=np.float32).reshape(len(ids), self.dim)

    # -- search -----------------------------------------------------------------------------
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids (q, k'), scores (q, k')) best first, k' = min(k, len(self)); scores are cosines."""
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        k = min(int(k), len(self))
        if k <= 0:
            return np.zeros((len(queries), 0), np.int64), np.zeros((len(queries), 0), np.float32)
        if len(self) <= EXACT_BELOW:
            return self._exact(queries, k)
        self._index.set_ef(query_ef(self.params, len(self), k))
        try:
            labels, distances = self._index.knn_query(queries, k=k)
        except RuntimeError:  # too few reachable live elements for k (many deletions): be exact instead
            return self._exact(queries, k)
        return labels.astype(np.int64), (1.0 - distances).astype(np.float32)

    def search_among(self, query: np.ndarray, k: int, allowed: set[int]) -> tuple[np.ndarray, np.ndarray]:
        """(ids, scores) of the best k of `allowed` for one query, by the graph with hnswlib's filter: every result
        is allowed and k come back whenever k are reachable (a filtered search over a large share of a library,
        where reading every allowed vector would take too long)."""
        query = np.asarray(query, dtype=np.float32).reshape(1, -1)
        k = min(int(k), len(allowed))
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        self._index.set_ef(query_ef(self.params, len(self), 2 * k))
        try:
            labels, distances = self._index.knn_query(query, k=k, filter=lambda i: i in allowed)
        except RuntimeError:  # fewer reachable than k: none returned by hnswlib, so say so by returning none
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return labels[0].astype(np.int64), (1.0 - distances[0]).astype(np.float32)

    def _exact(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        # hnswlib's get_items costs ~35 µs per vector (11 ms for 300), so the matrix is kept until the next change.
        if self._exact_cache is not None:
            ids, matrix = self._exact_cache
        else:
            ids = np.fromiter(self._live, dtype=np.int64, count=len(self._live))
            matrix = self.vectors(ids.tolist())
            if len(ids) <= EXACT_BELOW:  # a large index lands here only as a rare fallback: not worth the memory
                self._exact_cache = ids, matrix
        scores = queries @ matrix.T
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return ids[top], np.take_along_axis(scores, top, axis=1).astype(np.float32)

    # -- persistence ------------------------------------------------------------------------
    # A save writes `<stem>-<generation>.hnsw` and `.ids.npy`, then the `<stem>.json` manifest naming that
    # generation (the commit point), then deletes older generations: a crash at any point leaves a
    # complete, self-consistent index behind.
    def save(self, folder: str | os.PathLike[str], stem: str, meta: dict[str, object] | None = None) -> None:
        folder = Path(folder)
        manifest = folder / f"{stem}.json"
        old = _read_manifest(manifest)
        generation = int(old.get("generation", 0)) + 1 if old else 1
        graph, ids_file = folder / f"{stem}-{generation}.hnsw", folder / f"{stem}-{generation}.ids.npy"
        atomic_write(graph, lambda tmp: self._index.save_index(str(tmp)))
        live = np.fromiter(sorted(self._live), dtype=np.int64, count=len(self._live))
        atomic_write(ids_file, lambda tmp: save_npy(tmp, live))
        body = {
            "generation": generation,
            "dim": self.dim,
            "params": asdict(self.params),
            "count": len(self),
            **(meta or {}),
        }
        atomic_write_text(manifest, json.dumps(body))
        for stale in folder.glob(f"{stem}-*"):
            if not stale.name.startswith(f"{stem}-{generation}."):
                stale.unlink(missing_ok=True)

    @classmethod
    def load(cls, folder: str | os.PathLike[str], stem: str) -> tuple[VectorIndex, dict[str, Any]] | None:
        """The saved index and its manifest, None if there is none; IndexError_ if it is damaged."""
        import hnswlib

        folder = Path(folder)
        manifest = folder / f"{stem}.json"
        if not manifest.exists():
            return None
        try:
            meta = json.loads(manifest.read_text())
            generation = int(meta["generation"])
            self = cls.__new__(cls)
            self.dim, self.params = int(meta["dim"]), HnswParams(**meta["params"])
            self._index = hnswlib.Index(space="ip", dim=self.dim)
            self._index.load_index(str(folder / f"{stem}-{generation}.hnsw"))
            self._index.set_ef(self.params.ef)
            live = np.load(folder / f"{stem}-{generation}.ids.npy", allow_pickle=False)
            self._live = {int(i) for i in live}
            self._exact_cache = None
            if len(self._live) > self._index.get_current_count():
                raise ValueError("id list longer than the graph")
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise IndexError_(f"index in {folder} is unreadable ({type(exc).__name__}: {exc})") from None
        return self, meta


def _read_manifest(path: Path) -> dict[str, Any]:  # JSON
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}
