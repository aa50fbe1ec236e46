"""Photos' facts in the catalog and search filters (issue #26 items 2-4), on generated photos with real EXIF dates,
cameras, GPS and XMP sidecar keywords."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import exif_photo
from xmr_gui.core.search.query import QueryError, parse_query


@pytest.fixture
def dated(tmp_path: Path) -> Path:
    from xmr_gui.core.learn.keywords import write_sidecar

    root = tmp_path / "photos"
    exif_photo(root / "2023" / "beach.jpg", 1, "2023:08:02 10:00:00", ("Google", "Pixel 7"), "+02:00", (43.5, -1.5))
    exif_photo(root / "2024" / "summer" / "pool.jpg", 2, "2024:07:14 18:03:00", ("Canon", "Canon EOS 5D"))
    exif_photo(root / "2024" / "winter" / "snow.jpg", 3, "2024:01:20 09:00:00", ("Google", "Pixel 7"))
    old = exif_photo(root / "scan.jpg", 4)  # no EXIF: its mtime is its date
    stamp = time.mktime((2019, 5, 1, 12, 0, 0, 0, 0, -1))
    os.utime(old, (stamp, stamp))
    write_sidecar(root / "2024" / "summer" / "pool.jpg", ["Grandma", "holiday"])
    return root


def _index(root: Path, db: Path, tiny_spec, tiny_encoder, backend: str = "hnsw"):
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.store.library import Library

    if backend != "hnsw":
        pytest.importorskip({"lancedb": "lancedb", "qdrant": "qdrant_client"}[backend])
    lib = Library.create(db, root, tiny_spec)
    lib.use_encoder(tiny_encoder)
    lib.set_backend(backend)
    report = index_folder(lib, root)
    return lib, report


def test_facts_are_read_once_and_kept_current(dated: Path, tmp_path: Path, tiny_spec, tiny_encoder) -> None:
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.learn.keywords import write_sidecar
    from xmr_gui.core.store import photo_meta

    lib, report = _index(dated, tmp_path / "db", tiny_spec, tiny_encoder)
    assert report.facts_read == 4
    db = lib.catalog.connection
    beach = photo_meta.get(db, lib.catalog.id_for_path(str(dated / "2023" / "beach.jpg")))
    assert beach is not None and beach.taken == "2023-08-02T10:00:00" and beach.taken_from == "exif"
    assert beach.utc_offset == "+02:00" and beach.camera == "Google Pixel 7" and (beach.width, beach.height) == (64, 48)
    assert beach.lat == pytest.approx(43.5) and beach.lon == pytest.approx(-1.5)
    pool = photo_meta.get(db, lib.catalog.id_for_path(str(dated / "2024" / "summer" / "pool.jpg")))
    assert pool is not None and pool.camera == "Canon EOS 5D" and set(pool.keywords) == {"Grandma", "holiday"}
    scan = photo_meta.get(db, lib.catalog.id_for_path(str(dated / "scan.jpg")))
    assert scan is not None and scan.taken == "2019-05-01T12:00:00" and scan.taken_from == "mtime"
    # nothing changed: nothing read again, nothing encoded
    again = index_folder(lib, dated)
    assert again.facts_read == 0 and again.encoded == 0
    # an edited sidecar is picked up by the next index, still without encoding
    time.sleep(0.01)
    write_sidecar(dated / "2024" / "summer" / "pool.jpg", ["garden"])
    edited = index_folder(lib, dated)
    assert edited.facts_read == 1 and edited.encoded == 0
    assert "garden" in photo_meta.get(db, lib.catalog.id_for_path(str(dated / "2024" / "summer" / "pool.jpg"))).keywords
    lib.close()


def test_an_existing_library_gets_its_facts_without_re_encoding(dated: Path, tmp_path, tiny_spec, tiny_encoder):
    """A library indexed before the facts existed (its tables emptied here): the next index reads them only."""
    from xmr_gui.core.indexing.indexer import index_folder

    lib, _ = _index(dated, tmp_path / "db", tiny_spec, tiny_encoder)
    lib.catalog.connection.execute("DELETE FROM photo_meta")
    lib.catalog.connection.execute("DELETE FROM photo_keywords")
    report = index_folder(lib, dated)
    assert report.facts_read == 4 and report.encoded == 0
    lib.close()


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("after:2024", ["pool.jpg", "snow.jpg"]),
        ("after:2023-08 before:2024-07", ["snow.jpg", "beach.jpg"]),
        ("before:2020", ["scan.jpg"]),
        ("camera:pixel", ["snow.jpg", "beach.jpg"]),
        ('camera:"eos 5d"', ["pool.jpg"]),
        ("folder:2024/summer", ["pool.jpg"]),
        ("keyword:GRANDMA", ["pool.jpg"]),
        ("keyword:grand", []),  # exact, not a substring
        ("", []),
    ],
)
def test_filters_only_list_the_matching_photos_newest_first(dated, tmp_path, tiny_spec, tiny_encoder, query, names):
    from xmr_gui.core.search.photos import search_query

    lib, _ = _index(dated, tmp_path / "db", tiny_spec, tiny_encoder)
    hits = search_query(lib, parse_query(query), k=10)
    assert [Path(h.path).name for h in hits] == names
    assert all(h.taken for h in hits)
    lib.close()


@pytest.mark.parametrize("backend", ["hnsw", "lancedb"])
def test_filtered_search_is_exact(tmp_path: Path, tiny_spec, tiny_encoder, backend) -> None:
    """k results whenever k photos match, every one matching, ranked as exact cosine ranks them."""
    from xmr_gui.core.search.photos import query_vector, search_query

    root = tmp_path / "photos"
    for i in range(60):
        exif_photo(root / f"p{i:02d}.jpg", i, f"20{10 + i % 3}:01:01 00:00:00")
    lib, _ = _index(root, tmp_path / "db", tiny_spec, tiny_encoder, backend)
    query = parse_query("a red photo after:2012")
    hits = search_query(lib, query, k=20)
    assert len(hits) == 20
    ids = [lib.catalog.id_for_path(str(root / f"p{i:02d}.jpg")) for i in range(60) if i % 3 == 2]
    vectors = lib.space.images(lib.catalog.vectors_for(ids, lib.dim))
    truth = np.sort(vectors @ query_vector(lib, query))[::-1][:20]
    np.testing.assert_allclose([h.score for h in hits], truth, atol=1e-5)
    assert all(int(Path(h.path).stem[1:]) % 3 == 2 for h in hits)
    lib.close()


def test_a_keyword_brings_its_photos_first(dated: Path, tmp_path, tiny_spec, tiny_encoder) -> None:
    from xmr_gui.core.search.photos import search_text

    lib, _ = _index(dated, tmp_path / "db", tiny_spec, tiny_encoder)
    hits = search_text(lib, "grandma", k=4)
    assert Path(hits[0].path).name == "pool.jpg" and hits[0].by_keyword
    assert not any(h.by_keyword for h in hits[1:]) and len(hits) == 4
    lib.close()


def test_bad_filters_are_one_line() -> None:
    for text, message in (
        ("before:2020-13-01", "before:2020-13-01 is not a date"),
        ("after:2020-02-30", "after:2020-02-30 is not a date"),
        ("after:last-summer", "after:last-summer is not a date"),
    ):
        with pytest.raises(QueryError) as err:
            parse_query(f"a beach {text}")
        assert str(err.value) == message


def test_xmr_search_filters_and_flags(dated: Path, tmp_path: Path, tiny_spec, tiny_encoder, capsys) -> None:
    from xmr_gui.cli import main

    lib, _ = _index(dated, tmp_path / "db", tiny_spec, tiny_encoder)
    lib.close()
    db = ["--db", str(tmp_path / "db")]
    assert main(["search", "--camera", "pixel", *db]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"2024-01-20T09:00:00\t{dated / '2024/winter/snow.jpg'}",
        f"2023-08-02T10:00:00\t{dated / '2023/beach.jpg'}",
    ]
    assert "2 of 4 photos match the filters" in err
    assert main(["search", "a photo keyword:holiday", *db]) == 0
    out, _ = capsys.readouterr()
    assert [Path(line.split("\t")[1]).name for line in out.splitlines()] == ["pool.jpg"]
    assert main(["search", "grandma", *db, "-k", "2"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0].endswith("pool.jpg\tkeyword") and "carry the keyword 'grandma'" in err
    assert main(["search", "a beach before:2020-13-01", *db]) == 1
    assert capsys.readouterr().err.strip() == "xmr: error: before:2020-13-01 is not a date"


@pytest.mark.parametrize("backend", ["hnsw", "lancedb", "qdrant"])
def test_a_large_filtered_share_is_searched_in_the_graph(tmp_path: Path, tiny_spec, tiny_encoder, monkeypatch, backend):
    """Above EXACT_FILTER_MAX matching photos the index is searched with its own filter (hnswlib's, LanceDB's
    prefilter, Qdrant's): k results, all matching, the same set as the exact ranking on this small library."""
    from xmr_gui.core.search import photos
    from xmr_gui.core.search.photos import search_query

    root = tmp_path / "photos"
    for i in range(60):
        exif_photo(root / f"p{i:02d}.jpg", i, f"20{10 + i % 3}:01:01 00:00:00")
    lib, _ = _index(root, tmp_path / "db", tiny_spec, tiny_encoder, backend)
    query = parse_query("a red photo after:2011")  # 40 of 60 match
    exact = search_query(lib, query, k=10)
    monkeypatch.setattr(photos, "EXACT_FILTER_MAX", 5)
    seen = []
    real = lib.index.search_among
    monkeypatch.setattr(lib.index, "search_among", lambda *a: seen.append(1) or real(*a))
    graph = search_query(lib, query, k=10)
    assert seen and len(graph) == 10
    assert all(int(Path(h.path).stem[1:]) % 3 != 0 for h in graph)
    assert {h.path for h in graph} == {h.path for h in exact}
    lib.close()


def test_a_pngs_exif_is_read_without_decoding_it(tmp_path: Path) -> None:
    from xmr_gui.core.indexing.metadata import read_metadata

    exif_photo(tmp_path / "a.png", 1, "2022:02:02 02:02:02", ("Sony", "ILCE-7M3"))
    meta = read_metadata(tmp_path / "a.png")
    assert meta.camera == "Sony ILCE-7M3" and meta.taken == "2022-02-02T02:02:02" and meta.width == 64
