"""A library on each vector backend (hnswlib, Qdrant's local mode, a LanceDB table): the same answers, repaired from
the catalog after a crash, switched without re-encoding."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from test_indexer import consistent

from conftest import write_photos
from xmr_gui.core.indexing.indexer import index_folder
from xmr_gui.core.search.photos import search_image, search_text
from xmr_gui.core.store.lance_index import LanceUriError
from xmr_gui.core.store.library import Library, LibraryError


def needs(backend: str) -> None:
    pytest.importorskip({"lancedb": "lancedb", "qdrant": "qdrant_client"}[backend])


def answers(lib: Library, photos) -> list[tuple[str, float]]:
    hits = search_text(lib, "a red square", k=8) + search_image(lib, photos / "photo_0002.jpg", k=5)
    return [(h.path, round(h.score, 4)) for h in hits]


def test_lancedb_gives_the_same_results_as_hnsw(tmp_path, library, photos, tiny_encoder):
    needs("lancedb")
    index_folder(library, photos)
    want = answers(library, photos)
    library.set_backend("lancedb")
    assert answers(library, photos) == want  # rebuilt from the catalog, searched exactly (24 rows)
    assert (tmp_path / "db" / f"{library._index_stem()}.lance").is_dir()
    os.remove(photos / "photo_0001.jpg")
    write_photos(photos / "more", 2, seed=3)
    index_folder(library, photos)  # additions and deletions reach the table
    library.close()
    with Library.open(tmp_path / "db") as again:  # reopened from the Lance table itself
        again.use_encoder(tiny_encoder)
        assert again.backend == "lancedb" and len(again.index) == 25
        consistent(again, photos)


@pytest.mark.parametrize("backend", ["hnsw", "qdrant", "lancedb"])
def test_a_crash_between_catalog_and_index_is_repaired(tmp_path, library, photos, tiny_spec, tiny_encoder, backend):
    """The index (files and manifest) rolled back to an earlier run while the catalog moved on: added, changed and
    deleted photos are all put right by the next open, from the catalog, without encoding."""
    if backend != "hnsw":
        needs(backend)
    library.set_backend(backend)
    index_folder(library, photos)
    library.close()
    db = tmp_path / "db"
    before = tmp_path / "before"
    shutil.copytree(db, before, ignore=shutil.ignore_patterns("catalog.sqlite*", "write.*"))
    with Library.create(db, photos, tiny_spec) as lib:
        lib.use_encoder(tiny_encoder)
        os.remove(photos / "photo_0003.jpg")
        (photos / "photo_0005.jpg").write_bytes((photos / "photo_0006.jpg").read_bytes())
        write_photos(photos / "more", 3, seed=5)
        index_folder(lib, photos)
    for p in db.glob("index-*"):  # as if killed before any of this run reached the index
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    for p in before.iterdir():
        (shutil.copytree if p.is_dir() else shutil.copy2)(p, db / p.name)
    with Library.open(db) as lib:
        lib.use_encoder(tiny_encoder)
        consistent(lib, photos)
        assert len(lib.index) == 26
        hits = search_image(lib, photos / "photo_0006.jpg", k=1)
        assert hits[0].path == str(photos / "photo_0005.jpg") and hits[0].score > 0.999  # its new vector
        assert index_folder(lib, photos).encoded == 0


@pytest.mark.parametrize("backend", ["qdrant", "lancedb"])
def test_switching_backends_rebuilds_from_the_catalog_without_encoding(
    tmp_path, library, photos, tiny_encoder, backend
):
    needs(backend)
    index_folder(library, photos)
    want = answers(library, photos)
    library.set_backend(backend)
    assert index_folder(library, photos).encoded == 0 and answers(library, photos) == want
    library.set_backend("hnsw")
    os.remove(photos / "photo_0004.jpg")  # changed while the other backend's store sat unused
    index_folder(library, photos)
    library.set_backend(backend)  # its old store is stale: rebuilt, not trusted
    report = index_folder(library, photos)
    assert report.encoded == 0 and len(library.index) == 23
    consistent(library, photos)


def test_a_reader_leaves_the_table_to_the_writer(tmp_path, library, photos, tiny_encoder):
    """While another holder of the write lock indexes, a reader searches the Lance table as it is, never writing
    it; before the first save it searches an in-memory index of the catalog."""
    needs("lancedb")
    library.set_backend("lancedb")
    with library.writing():
        with Library.open(tmp_path / "db") as reader:  # nothing indexed yet: no table to read
            reader.use_encoder(tiny_encoder)
            assert len(reader.index) == 0
    index_folder(library, photos)
    table = library.index._table  # type: ignore[attr-defined]
    version = table.version
    write_photos(photos / "more", 2, seed=8)
    with library.writing():
        with Library.open(tmp_path / "db") as reader:
            reader.use_encoder(tiny_encoder)
            assert len(reader.index) == 24 and search_text(reader, "a dog", k=3)
    table.checkout_latest()
    assert table.version == version


def test_lance_uri(tmp_path, library, photos, tiny_encoder, monkeypatch):
    needs("lancedb")
    index_folder(library, photos)
    monkeypatch.chdir(tmp_path)
    library.set_backend("lancedb", "shared/lance")  # a relative folder is taken from where the command runs
    assert library.catalog.get_meta("lance_uri") == str(tmp_path / "shared" / "lance")
    assert index_folder(library, photos).encoded == 0
    assert [p.name for p in (tmp_path / "shared" / "lance").iterdir()] == [
        f"{library._index_stem()}-{library.catalog.get_meta('library_key')}.lance"
    ]
    uri = (tmp_path / "bucket").as_uri()
    library.set_backend("lancedb", uri)
    consistent(library, photos)
    assert len(list((tmp_path / "bucket").iterdir())) == 1
    with pytest.raises(LanceUriError, match="LanceDB cannot open nosuchscheme://x"):
        library.set_backend("lancedb", "nosuchscheme://x")
    with pytest.raises(LibraryError, match="add --backend lancedb"):
        library.set_backend("hnsw", uri)
    assert library.catalog.get_meta("lance_uri") == uri  # a refused URI changes nothing
    assert np.isfinite(search_text(library, "a dog", k=1)[0].score)
