from __future__ import annotations

import os
import sqlite3

import numpy as np
import pytest

from xmr_gui.core.store.catalog import READABLE, VERSION, Catalog, CatalogError


def test_schema_version_and_round_trip(tmp_path):
    with Catalog(tmp_path / "c.sqlite") as cat:
        with cat.transaction():
            a = cat.put_indexed("/p/a.jpg", 10, 5, np.ones(4, np.float32))
            b = cat.put_skipped("/p/b.jpg", 3, 6, "not an image")
        seq_after_two = cat.seq
        with cat.transaction():
            again = cat.put_indexed("/p/a.jpg", 11, 7, np.full(4, 2, np.float32))
        assert again == a  # updated in place: the index slot is reused
        ids, vectors = cat.indexed_vectors(4)
        assert ids.tolist() == [a] and vectors[0].tolist() == [2, 2, 2, 2]
        changed, _ = cat.indexed_changed_since(seq_after_two, 4)
        assert changed.tolist() == [a]
        assert cat.skipped() == [("/p/b.jpg", "not an image")]
        assert cat.files()["/p/b.jpg"].id == b
    db = sqlite3.connect(tmp_path / "c.sqlite")
    assert db.execute("PRAGMA user_version").fetchone()[0] == VERSION


def test_non_utf8_paths_survive(tmp_path):
    weird = os.fsdecode(b"/p/caf\xe9.jpg")
    with Catalog(tmp_path / "c.sqlite") as cat:
        with cat.transaction():
            i = cat.put_indexed(weird, 1, 1, np.zeros(2, np.float32))
        assert cat.paths_for([i]) == [weird]
        assert os.fsencode(cat.paths_for([i])[0]) == b"/p/caf\xe9.jpg"


def test_newer_schema_is_refused(tmp_path):
    db = sqlite3.connect(tmp_path / "c.sqlite")
    db.execute(f"PRAGMA user_version={READABLE + 1}")
    db.close()
    with pytest.raises(CatalogError, match="newer than this xmr"):
        Catalog(tmp_path / "c.sqlite")


def test_damaged_file_is_refused_with_a_rebuild_hint(tmp_path):
    (tmp_path / "c.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CatalogError, match="--rebuild"):
        Catalog(tmp_path / "c.sqlite")


def test_failed_transaction_rolls_back(tmp_path):
    with Catalog(tmp_path / "c.sqlite") as cat:
        with pytest.raises(RuntimeError):
            with cat.transaction():
                cat.put_skipped("/x.jpg", 1, 1, "r")
                raise RuntimeError("boom")
        assert cat.files() == {}


def test_fp16_storage_marks_the_schema_so_older_readers_refuse(tmp_path):
    """An xmr that reads only float32 rows (schema v1) must refuse an fp16 library, not misread it."""
    cat = Catalog(tmp_path / "c.sqlite")
    cat.put_indexed("/p/a.jpg", 1, 1, np.ones(8, np.float32))
    assert cat._db.execute("PRAGMA user_version").fetchone()[0] == VERSION == 1
    cat.set_vector_storage("fp16")
    cat.put_indexed("/p/b.jpg", 1, 1, np.full(8, 0.5, np.float32))
    cat.close()
    cat = Catalog(tmp_path / "c.sqlite")  # this xmr still reads it, both kinds of rows
    assert cat._db.execute("PRAGMA user_version").fetchone()[0] == 2 <= READABLE
    ids, vectors = cat.indexed_vectors(8)
    assert np.allclose(vectors, [[1.0] * 8, [0.5] * 8])
    cat.set_meta("dim", "8")
    cat.clear()
    assert cat.get_meta("dim") is None  # a model change forgets the vector size too
    cat.close()


def test_vectors_for_keeps_the_order_asked_for(tmp_path):
    """Read in chunks of one query and decoded at once: order, repeats, unknown ids and mixed storage all hold."""
    with Catalog(tmp_path / "c.sqlite") as cat:
        rng = np.random.default_rng(0)
        want = rng.standard_normal((1000, 4)).astype(np.float32)
        with cat.transaction():
            ids = [cat.put_indexed(f"/p/{i}.jpg", 1, 1, want[i]) for i in range(1000)]
            cat.set_vector_storage("fp16")
            late = cat.put_indexed("/p/late.jpg", 1, 1, np.arange(4, dtype=np.float32))
        asked = [ids[999], ids[3], 10_000_000, ids[3], late, *ids[:950]]
        got = cat.vectors_for(asked, 4)
        np.testing.assert_array_equal(got[0], want[999])
        np.testing.assert_array_equal(got[1], want[3])
        assert not got[2].any()  # an id with no row: zeros
        np.testing.assert_array_equal(got[3], want[3])
        np.testing.assert_array_equal(got[4], np.arange(4))
        np.testing.assert_array_equal(got[5:], want[:950])
