"""Move an index between machines: Parquet rows (path, vector, model id), as a Ray Data job would write them
(docs/scaling.md). The model spec travels in the file's metadata, so the importer can embed queries the same way."""

from __future__ import annotations

import os

import numpy as np

from ..base.files import atomic_write
from ..runtime.spec import ModelSpec
from .library import Library, LibraryError
from .locate import library_dir


def export_parquet(lib: Library, path: str | os.PathLike[str]) -> int:
    """Write every indexed file's backbone vector; returns the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ids, vectors = lib.catalog.indexed_vectors(lib.dim)
    paths = lib.catalog.paths_by_id()
    identity = lib.spec.identity()
    table = pa.table(
        {
            "path": pa.array([paths[int(i)] for i in ids], pa.string()),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), pa.float32()), lib.dim),
            "model": pa.array([identity] * len(ids), pa.string()),
        }
    ).replace_schema_metadata({"xmr.model_spec": lib.spec.to_json(), "xmr.folder": lib.folder})
    atomic_write(path, lambda tmp: pq.write_table(table, str(tmp)))
    return len(ids)


def import_parquet(
    path: str | os.PathLike[str], db_dir: str | os.PathLike[str] | None = None, folder: str | None = None
) -> Library:
    """A library (catalog + index) from exported rows; paths may be re-rooted from the exporter's folder to `folder`.

    db_dir: where the library goes (default: the folder's, as `store.locate.library_dir` decides).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except pa.ArrowException as exc:  # not Parquet, or damaged (a missing file stays an OSError)
        raise LibraryError(f"{path} is not a readable Parquet file ({exc})") from None
    meta = table.schema.metadata or {}
    missing = {"path", "vector", "model"} - set(table.column_names)
    if b"xmr.model_spec" not in meta or missing:
        raise LibraryError(f"{path} is not an xmr export (no model spec in its metadata, or no path/vector/model)")
    spec = ModelSpec.from_json(meta[b"xmr.model_spec"].decode())
    source = meta.get(b"xmr.folder", b"").decode()
    if set(table.column("model").to_pylist()) - {spec.identity()}:
        raise LibraryError(f"{path} mixes vectors of several models; import one model's rows at a time")
    target = os.path.abspath(folder or source)
    lib = Library.create(library_dir(target, db_dir), target, spec)
    vectors = np.asarray(table.column("vector").combine_chunks().flatten(), np.float32).reshape(table.num_rows, -1)
    with lib.writing(), lib.catalog.transaction():
        lib.catalog.set_meta("dim", str(vectors.shape[1]))
        for p, v in zip(table.column("path").to_pylist(), vectors, strict=False):
            local = os.path.join(target, os.path.relpath(p, source)) if source and folder else p
            try:
                st = os.stat(local)
                size, mtime = st.st_size, st.st_mtime_ns
            except OSError:
                size, mtime = -1, -1  # not on this machine (yet): searchable, re-checked by the next `xmr index`
            lib.catalog.put_indexed(local, size, mtime, v)
    lib.save_index()
    return lib
