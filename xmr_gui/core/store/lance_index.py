"""A `vindex.VectorStore` kept in a Lance table through LanceDB: `xmr index FOLDER --backend lancedb`.

The table (`id`, `vector`) lives in the library's folder (`<stem>.lance`) or in a LanceDB database at a URI the user
gives (`--lance-uri`: a folder, a `file://` URL, `s3://bucket/prefix`, ...). Every add and delete is a Lance commit,
durable on its own; `save` writes the manifest beside the catalog (the catalog sequence it includes, as for hnswlib,
so a crashed run is repaired from the catalog) and tidies the table. The catalog stays the source of truth.

Search is LanceDB's, cosine. A table below `LanceParams.ann_min_rows` rows has no vector index and is searched
exactly (a flat scan): an IVF index cannot be trained on a few thousand rows, and a scan of that many is as fast.
Once the table is that large, `save` trains the ANN index, and trains it again when the table has grown
`retrain_growth` times since; rows added after training are searched exactly beside the index (LanceDB scans them)
until the next `save` folds them in (`Table.optimize`). LanceDB has no notion of a library's write lock, so
`store.library` lets only the process that holds it write the table.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ..base.errors import XmrError
from ..base.files import atomic_write_text
from .vindex import IndexError_, LiveIds

# LanceDB's Rust side logs warnings meant for its developers to stderr ("No existing dataset at ..., it will be
# created"); it reads this once, when lancedb is first imported. A user's own setting wins.
os.environ.setdefault("LANCEDB_LOG", "error")

if TYPE_CHECKING:
    import pyarrow as pa
    from lancedb.db import DBConnection
    from lancedb.index import HnswSq, IvfPq
    from lancedb.query import LanceVectorQueryBuilder
    from lancedb.table import Table


class LanceUriError(XmrError):
    """LanceDB cannot open the URI the user gave."""


@dataclass(frozen=True)
class LanceParams:
    """How the ANN index is trained and searched: the one place to tune them (see bench/RESULTS.md)."""

    ann_min_rows: int = 4096  # fewer rows: no index, an exact flat scan
    index_type: str = "IVF_HNSW_SQ"  # or "IVF_PQ"
    partition_rows: int = 1_000_000  # IVF partitions = ceil(rows / this); HNSW-SQ needs few (one graph each)
    m: int = 20  # HNSW links per node (IVF_HNSW_SQ)
    ef_construction: int = 300
    nprobes: int = 4  # partitions searched per query
    refine_factor: int = 5  # re-rank this many times k candidates by their full vectors
    ef: int = 400  # HNSW candidates per query (at least k x refine_factor): 20,000 clustered 128-d vectors, top-10
    # against exact: 0.86 at LanceDB's default, 0.99 at 400 for 2.6 ms per query (bench/lance_agreement.py)
    retrain_growth: float = 2.0  # retrain once the table is this many times the rows it was trained on
    keep_versions_s: int = 600  # old table versions a reader may still use are kept this long


PARAMS = LanceParams()
QUERY_BATCH = 256  # queries sent to LanceDB at once


def check_uri(uri: str) -> None:
    """LanceUriError (one line) unless LanceDB can open a database at `uri` and list its tables."""
    db = _connect(uri)
    try:
        db.list_tables(limit=1)
    except Exception as exc:
        raise _cannot_open(uri, exc) from None


def _connect(uri: str) -> DBConnection:
    import lancedb

    try:
        return lancedb.connect(uri)
    except Exception as exc:  # LanceDB raises ValueError, OSError or its own errors for a URI it cannot use
        raise _cannot_open(uri, exc) from None


def _cannot_open(uri: str, exc: BaseException) -> LanceUriError:
    return LanceUriError(
        f"LanceDB cannot open {uri} ({_first_line(exc)}): give a folder, a file:// URL or an object-store URI "
        "such as s3://bucket/path"
    )


def _has_table(db: DBConnection, name: str) -> bool:
    page = db.list_tables()
    while name not in page.tables and page.page_token:
        page = db.list_tables(page_token=page.page_token)
    return name in page.tables


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class LanceIndex(LiveIds):
    """A Lance table of (id, vector) rows behind the `VectorStore` calls; see the module docstring."""

    def __init__(
        self, table: Table, dim: int, uri: str | None, params: LanceParams = PARAMS, trained_rows: int = 0
    ) -> None:
        self._table = table
        self.dim = dim
        self.uri = uri  # the user's URI, None for the library's folder (kept in the manifest)
        self.params = params
        self._trained_rows = trained_rows  # rows the ANN index was trained on (0: none)
        ids = table.search().select(["id"]).limit(None).to_arrow()["id"].to_numpy()
        self._live = {int(i) for i in ids}

    @classmethod
    def create(
        cls, folder: str | os.PathLike[str], uri: str | None, name: str, dim: int, params: LanceParams = PARAMS
    ) -> LanceIndex:
        """An empty table `name` at `uri` (None: in `folder`); one left there before is dropped (the catalog has
        every vector)."""
        where = uri or os.fspath(folder)
        db = _connect(where)
        try:
            table = db.create_table(name, schema=_schema(dim), mode="overwrite")
        except Exception as exc:  # an object store that refuses the write, a folder that cannot be made
            raise LanceUriError(f"LanceDB cannot write a table at {where} ({_first_line(exc)})") from None
        return cls(table, dim, uri, params)

    @classmethod
    def load(
        cls, folder: str | os.PathLike[str], stem: str, uri: str | None, name: str, params: LanceParams = PARAMS
    ) -> tuple[LanceIndex, dict[str, Any]] | None:
        """The saved table and its manifest (`<stem>.json` in `folder`); None if there is none, or the manifest is
        another backend's or names another place; IndexError_ if the table is damaged."""
        try:
            meta = dict(json.loads((Path(folder) / f"{stem}.json").read_text()))
        except (OSError, ValueError):
            return None
        if meta.get("backend") != "lancedb" or meta.get("uri") != uri or meta.get("table") != name:
            return None
        db = _connect(uri or os.fspath(folder))
        try:
            if not _has_table(db, name):
                return None
            table = db.open_table(name)
            return cls(table, int(meta["dim"]), uri, params, int(meta.get("trained_rows", 0))), meta
        except Exception as exc:  # a torn or deleted data file: the catalog rebuilds the table
            raise IndexError_(f"Lance table {name} is unreadable ({_first_line(exc)})") from None

    # -- contents ---------------------------------------------------------------------------
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Insert or replace: an append when every id is new, else one merge-insert on `id` (one commit)."""
        ids, vectors = self._inputs(ids, vectors)
        if len(ids) == 0:
            return
        rows = self._rows(ids, vectors)
        if self._live.isdisjoint(ids.tolist()):
            self._table.add(rows)
        else:
            self._table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(rows)
        self._live.update(int(i) for i in ids)

    def remove(self, ids: np.ndarray | list[int]) -> None:
        gone = sorted({int(i) for i in ids} & self._live)
        for start in range(0, len(gone), 10_000):
            self._table.delete(_id_in(gone[start : start + 10_000]))
        self._live.difference_update(gone)

    def close(self) -> None:
        """Nothing to release: LanceDB opens its files per query."""

    # -- search -----------------------------------------------------------------------------
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids (q, k'), cosine scores (q, k')) best first, k' = min(k, len(self)); a query the ANN index answers
        with fewer than k' rows is searched again exactly."""
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        k = min(int(k), len(self))
        ids = np.zeros((len(queries), max(k, 0)), np.int64)
        scores = np.zeros((len(queries), max(k, 0)), np.float32)
        if k <= 0:
            return ids, scores
        for start in range(0, len(queries), QUERY_BATCH):
            chunk = queries[start : start + QUERY_BATCH]
            for row, (found, score) in enumerate(self._run(self._query(chunk, k), len(chunk))):
                if len(found) < k:
                    found, score = self._run(self._query(chunk[row : row + 1], k).bypass_vector_index(), 1)[0]
                ids[start + row], scores[start + row] = found[:k], score[:k]
        return ids, scores

    def search_among(self, query: np.ndarray, k: int, allowed: set[int]) -> tuple[np.ndarray, np.ndarray]:
        """(ids, scores) of the best k of `allowed` for one query: LanceDB filters on `id` before the vector search
        (`where(..., prefilter=True)`), so every result is allowed; fewer than k if the index reaches fewer."""
        k = min(int(k), len(allowed))
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        query = np.asarray(query, dtype=np.float32).reshape(1, -1)
        return self._run(self._query(query, k).where(_id_in(sorted(allowed)), prefilter=True), 1)[0]

    def _query(self, queries: np.ndarray, k: int) -> LanceVectorQueryBuilder:
        target = queries[0] if len(queries) == 1 else list(queries)
        # a vector given: LanceDB's vector query builder (its `search` is typed for every query kind)
        query = cast("LanceVectorQueryBuilder", self._table.search(target, vector_column_name="vector"))
        query = query.distance_type("cosine").limit(k)
        if self._trained_rows:
            params = self.params
            query = query.nprobes(params.nprobes).refine_factor(params.refine_factor)
            if "HNSW" in params.index_type:
                query = query.ef(max(params.ef, k * params.refine_factor))
        return query.select(["id", "_distance"])

    @staticmethod
    def _run(query: LanceVectorQueryBuilder, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each query's (ids, cosines), best first."""
        table = query.to_arrow()
        which = table["query_index"].to_numpy() if "query_index" in table.column_names else np.zeros(len(table), int)
        ids = table["id"].to_numpy().astype(np.int64)
        cosines = (1.0 - table["_distance"].to_numpy()).astype(np.float32)
        order = np.lexsort((-cosines, which))
        which, ids, cosines = which[order], ids[order], cosines[order]
        return [(ids[which == q], cosines[which == q]) for q in range(count)]

    # -- persistence ------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike[str], stem: str, meta: dict[str, object] | None = None) -> None:
        """Train or fold in the ANN index, compact, then write the manifest (the commit point of the repair)."""
        self._tidy()
        body = {
            "backend": "lancedb",
            "dim": self.dim,
            "count": len(self),
            "uri": self.uri,
            "table": self._table.name,
            "trained_rows": self._trained_rows,
            **(meta or {}),
        }
        atomic_write_text(Path(folder) / f"{stem}.json", json.dumps(body))

    def _tidy(self) -> None:
        rows, params = self._table.count_rows(), self.params
        if rows >= params.ann_min_rows and (
            not self._trained_rows or rows >= params.retrain_growth * self._trained_rows
        ):
            self._table.create_index("vector", config=self._index_config(rows), replace=True)
            self._trained_rows = rows
        # compacts the many small appends of a run and adds rows written since training to the index
        self._table.optimize(cleanup_older_than=timedelta(seconds=params.keep_versions_s))

    def _index_config(self, rows: int) -> HnswSq | IvfPq:
        from lancedb.index import HnswSq, IvfPq

        parts = -(-rows // self.params.partition_rows)
        if self.params.index_type == "IVF_PQ":
            return IvfPq(distance_type="cosine", num_partitions=parts)
        return HnswSq(
            distance_type="cosine", num_partitions=parts, m=self.params.m, ef_construction=self.params.ef_construction
        )

    def _rows(self, ids: np.ndarray, vectors: np.ndarray) -> pa.Table:
        import pyarrow as pa

        flat = pa.array(vectors.reshape(-1), type=pa.float32())
        return pa.Table.from_arrays(
            [pa.array(ids, pa.int64()), pa.FixedSizeListArray.from_arrays(flat, self.dim)], schema=_schema(self.dim)
        )


def _schema(dim: int) -> pa.Schema:
    import pyarrow as pa

    return pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("vector", pa.list_(pa.float32(), dim))])


def _id_in(ids: list[int]) -> str:
    return f"id IN ({','.join(str(int(i)) for i in ids)})"
