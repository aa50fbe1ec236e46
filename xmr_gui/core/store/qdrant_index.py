"""A `vindex.VectorStore` served by Qdrant (qdrant-client's embedded local mode
here; a server URL for shared libraries — see docs/scaling.md). Selected with `xmr index --backend qdrant`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..base.files import atomic_write_text
from .vindex import LiveIds

if TYPE_CHECKING:
    from qdrant_client.models import ExtendedPointId

COLLECTION = "photos"


class QdrantIndex(LiveIds):
    def __init__(self, dim: int, folder: Path, stem: str, url: str | None = None) -> None:
        from qdrant_client import QdrantClient, models

        self.dim = dim
        self._models = models
        self._client = QdrantClient(url=url) if url else QdrantClient(path=str(Path(folder) / f"{stem}.qdrant"))
        if not self._client.collection_exists(COLLECTION):
            self._client.create_collection(
                COLLECTION, vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE)
            )
        self._live = self._read_ids()

    def _read_ids(self) -> set[int]:
        ids: set[int] = set()
        offset = None
        while True:
            points, offset = self._client.scroll(
                COLLECTION, limit=10_000, offset=offset, with_payload=False, with_vectors=False
            )
            ids.update(int(p.id) for p in points)
            if offset is None:
                return ids

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = self._inputs(ids, vectors)
        if len(ids) == 0:
            return
        for start in range(0, len(ids), 2048):
            chunk = slice(start, start + 2048)
            self._client.upsert(
                COLLECTION,
                points=self._models.Batch(ids=[int(i) for i in ids[chunk]], vectors=vectors[chunk].tolist()),
                wait=True,
            )
        self._live.update(int(i) for i in ids)

    def remove(self, ids: np.ndarray | list[int]) -> None:
        gone: list[ExtendedPointId] = [int(i) for i in ids if int(i) in self._live]
        if gone:
            self._client.delete(COLLECTION, points_selector=self._models.PointIdsList(points=gone), wait=True)
            self._live.difference_update(gone)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        k = min(int(k), len(self))
        ids = np.zeros((len(queries), max(k, 0)), np.int64)
        scores = np.zeros((len(queries), max(k, 0)), np.float32)
        if k <= 0:
            return ids, scores
        for row, q in enumerate(queries):
            found = self._client.query_points(COLLECTION, query=q.tolist(), limit=k, with_payload=False).points
            for col, p in enumerate(found[:k]):
                ids[row, col], scores[row, col] = int(p.id), float(p.score)
        return ids, scores

    def search_among(self, query: np.ndarray, k: int, allowed: set[int]) -> tuple[np.ndarray, np.ndarray]:
        """(ids, scores) of the best k of `allowed` for one query (Qdrant's has-id filter)."""
        k = min(int(k), len(allowed))
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        only: list[ExtendedPointId] = [int(i) for i in allowed]
        found = self._client.query_points(
            COLLECTION,
            query=np.asarray(query, dtype=np.float32).ravel().tolist(),
            query_filter=self._models.Filter(must=[self._models.HasIdCondition(has_id=only)]),
            limit=k,
            with_payload=False,
        ).points
        return np.array([int(p.id) for p in found], np.int64), np.array([p.score for p in found], np.float32)

    def save(self, folder: str | os.PathLike[str], stem: str, meta: dict[str, object] | None = None) -> None:
        """Points are durable once upserted; the manifest records which catalog sequence they include."""
        body = {"backend": "qdrant", "dim": self.dim, "count": len(self), **(meta or {})}
        atomic_write_text(Path(folder) / f"{stem}.json", json.dumps(body))

    @classmethod
    def load(cls, folder: str | os.PathLike[str], stem: str) -> tuple[QdrantIndex, dict[str, Any]] | None:
        manifest = Path(folder) / f"{stem}.json"
        if not manifest.exists() or not (Path(folder) / f"{stem}.qdrant").exists():
            return None
        meta = json.loads(manifest.read_text())
        if meta.get("backend") != "qdrant":  # the manifest of another backend the library used since
            return None
        return cls(int(meta["dim"]), Path(folder), stem), meta

    def close(self) -> None:
        self._client.close()
