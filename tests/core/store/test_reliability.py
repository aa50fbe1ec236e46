"""Nothing a user's disk holds can crash xmr or lose their index (hostile files, kills, bad checkpoints, queries)."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from conftest import run_cli as run
from hostile import make_hostile
from xmr_gui.cli import main

TINY = ["--model", "xmr-tiny", "--weights", "random"]


def folder_fingerprint(folder: Path) -> str:
    """Names, sizes, mtimes and contents of everything under `folder` (symlinks as links)."""
    h = hashlib.sha256()
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(dirs + files):
            p = Path(root) / name
            st_ = p.lstat()
            h.update(os.fsencode(str(p)) + str((st_.st_size, st_.st_mtime_ns, st_.st_mode)).encode())
            if p.is_file() and not p.is_symlink() and os.access(p, os.R_OK):
                h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile") / "photos"
    return folder, make_hostile(folder)


def test_hostile_corpus_every_case_handled(hostile, tmp_path, capsys):
    folder, cases = hostile
    assert len(cases) >= 40
    before = folder_fingerprint(folder)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    db = str(tmp_path / "db")
    code, out, err = run(capsys, "index", str(folder), "--db", db, "--json", *TINY)
    assert code == 0, err
    rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert rss_growth_mb < 400  # the 50k × 50k bomb (7.5 GB decoded) was never decoded
    code, skipped_out, _ = run(capsys, "skipped", "--db", db, "--json")
    skipped = {os.path.relpath(r["path"], folder): r["reason"] for r in map(json.loads, skipped_out.splitlines())}
    from xmr_gui.core.store.library import Library

    with Library.open(db) as lib:
        files = lib.catalog.files()
        indexed = {os.path.relpath(p, folder) for p, r in files.items() if r.status == "indexed"}
        assert lib.index.ids() == {r.id for r in files.values() if r.status == "indexed"}
    for name, expected in cases.items():
        if expected == "ok":
            assert name in indexed, name
        elif expected == "absent":
            assert name not in indexed and name not in skipped, name
        else:
            assert expected in skipped.get(name, ""), (name, skipped.get(name))
    assert len(indexed) == len(set(indexed)) == sum(v == "ok" for v in cases.values())
    assert folder_fingerprint(folder) == before  # the photo folder is never written to
    code, out, _ = run(capsys, "index", str(folder), "--db", db, "--json", *TINY)
    again = json.loads(out)
    assert again == {"added": 0, "updated": 0, "unchanged": len(indexed), "removed": 0, "skipped": len(skipped)}


def test_exif_orientations_encode_upright(hostile, tmp_path, tiny_spec, tiny_encoder):
    from xmr_gui.core.runtime.images import load_pixels

    folder, _ = hostile
    upright = load_pixels(folder / "exif" / "upright.jpg", 32).astype(float)
    for o in range(1, 9):
        px = load_pixels(folder / "exif" / f"orient_{o}.jpg", 32).astype(float)
        assert np.abs(px - upright).mean() < 6, o  # JPEG noise only, not a rotated picture
    vecs = tiny_encoder.encode_images(
        np.stack([load_pixels(folder / "exif" / f"orient_{o}.jpg", 32) for o in range(1, 9)])
    )
    assert (vecs @ vecs[0] > 0.99).all()


def test_file_deleted_or_changed_while_being_read(library, photos, monkeypatch):
    import xmr_gui.core.indexing.indexer as indexer

    real = indexer.load_pixels
    victim, changer = str(photos / "photo_0003.jpg"), str(photos / "photo_0004.jpg")

    def racing(path, size):  # type: ignore[no-untyped-def]
        if str(path) == victim:
            os.unlink(path)
        out = real(path, size) if os.path.exists(path) else real(path, size)
        if str(path) == changer:
            os.utime(path, ns=(1, 1))  # rewritten by another program mid-read
        return out

    monkeypatch.setattr(indexer, "load_pixels", racing)
    report = indexer.index_folder(library, photos)
    reasons = dict(library.catalog.skipped())
    assert "vanished" in reasons[victim] and "changed while being read" in reasons[changer]
    assert report.added == 22
    monkeypatch.setattr(indexer, "load_pixels", real)
    again = indexer.index_folder(library, photos)  # the changed file is retried and indexed; the gone one dropped
    assert again.updated == 1 and again.removed == 1 and changer not in dict(library.catalog.skipped())


def _photos(folder: Path, n: int) -> None:
    """Noise PNGs: slow enough to decode (no draft for PNG) that a kill lands mid-run."""
    folder.mkdir()
    rng = np.random.default_rng(5)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (480, 480, 3), dtype=np.uint8)).save(
            folder / f"p{i:03d}.png", compress_level=1
        )


def _committed(db: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{db / 'catalog.sqlite'}?mode=ro", uri=True, timeout=0.1)
        try:
            return int(con.execute("SELECT COUNT(*) FROM files").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("backend", ["hnsw", pytest.param("lancedb", marks=pytest.mark.slow)])
def test_twenty_kills_then_resume_equals_an_uninterrupted_run(tmp_path, backend):
    if backend != "hnsw":
        pytest.importorskip(backend)
    folder = tmp_path / "photos"
    _photos(folder, 300)
    batch = 8
    base = [
        sys.executable,
        "-m",
        "xmr_gui.cli",
        "index",
        str(folder),
        "--batch-size",
        str(batch),
        "--workers",
        "1",
        "-q",
        "--backend",
        backend,
        *TINY,
    ]
    clean_db, db = tmp_path / "clean", tmp_path / "killed"
    subprocess.run([*base, "--db", str(clean_db)], check=True, capture_output=True)
    rng = random.Random(0)
    kills = 0
    for attempt in range(20):
        proc = subprocess.Popen([*base, "--db", str(db)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if attempt % 4 == 0:  # a random moment, often before any batch: start-up, scan, model load
            time.sleep(rng.uniform(0.02, 0.3))
        else:  # a random point mid-run: after a few more files are committed
            target = _committed(db) + rng.randint(1, 12)
            deadline = time.time() + 60
            while proc.poll() is None and _committed(db) < target and time.time() < deadline:
                time.sleep(0.003)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills >= 15 and _committed(db) < 300
    subprocess.run([*base, "--db", str(db)], check=True, capture_output=True)
    from xmr_gui.core.search.photos import search_text
    from xmr_gui.core.store.library import Library

    with Library.open(db) as lib, Library.open(clean_db) as ref:
        files = lib.catalog.files()
        assert len(files) == 300 and all(r.status == "indexed" for r in files.values())
        ids = {r.id for r in files.values()}
        assert lib.index.ids() == ids and len(lib.index) == 300
        if backend == "lancedb":  # and no photo's row twice in the table
            assert lib.index._table.count_rows() == 300  # type: ignore[attr-defined]
        # every catalog write is numbered: no file was committed twice, so at most one batch in flight was
        # lost per kill, i.e. total encodes <= files + kills × batch
        assert lib.catalog.seq == 300
        for query in ("a dog", "noise", "a red square"):
            got = [(round(h.score, 4), os.path.basename(h.path)) for h in search_text(lib, query, k=10)]
            want = [(round(h.score, 4), os.path.basename(h.path)) for h in search_text(ref, query, k=10)]
            assert got == want
    assert not list(db.glob(".*.tmp"))  # temp files of interrupted saves are cleaned up


def test_interrupted_index_save_leaves_a_working_index(tmp_path, library, photos, tiny_encoder):
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.store.library import Library

    index_folder(library, photos)
    spec = library.spec
    library.close()
    db = tmp_path / "db"
    manifest = next(db.glob("index-*.json"))
    stem = manifest.stem
    generation = json.loads(manifest.read_text())["generation"]
    (db / f"{stem}-{generation + 1}.hnsw").write_bytes(b"half a graph")  # killed before the manifest moved
    (db / f".{stem}-{generation + 1}.ids.npy.x1y2.tmp").write_bytes(b"torn")
    with Library.create(db, photos, spec) as lib:
        lib.use_encoder(tiny_encoder)
        assert len(lib.index) == 24 and not list(db.glob(".*.tmp"))
        index_folder(lib, photos)
        assert not (db / f"{stem}-{generation + 1}.hnsw").exists()  # the orphan generation was removed


def test_second_indexer_refuses_with_a_message(tmp_path, photos):
    from xmr_gui.core.store.library import Library

    db = tmp_path / "db"
    assert main(["index", str(photos), "--db", str(db), "-q", *TINY]) == 0
    with Library.open(db) as lib, lib.writing():
        done = subprocess.run(
            [sys.executable, "-m", "xmr_gui.cli", "index", str(photos), "--db", str(db), *TINY],
            capture_output=True,
            text=True,
        )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"another xmr process (pid {os.getpid()}) is indexing" in done.stderr, done.stderr


def test_corrupt_catalog_offers_a_rebuild_and_the_rebuild_works(tmp_path, photos, capsys):
    db = tmp_path / "db"
    assert main(["index", str(photos), "--db", str(db), "-q", *TINY]) == 0
    (db / "catalog.sqlite").write_bytes(b"\x00garbage" * 500)
    for leftover in db.glob("catalog.sqlite-*"):
        leftover.unlink()
    code, _, err = run(capsys, "search", "x", "--db", str(db))
    assert code == 1 and "--rebuild" in err
    code, out, err = run(capsys, "index", str(photos), "--db", str(db), "--rebuild", "--json", *TINY)
    assert code == 0 and json.loads(out)["added"] == 24


class _Boom:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {os.environ['XMR_BOOM_MARKER']}",))


def test_pickle_bomb_checkpoint_executes_nothing(tmp_path, monkeypatch, capsys):
    marker = tmp_path / "exploded"
    monkeypatch.setenv("XMR_BOOM_MARKER", str(marker))
    bomb = tmp_path / "model.xmr"
    bomb.write_bytes(pickle.dumps(_Boom()))
    code, _, err = run(capsys, "eval", str(bomb), str(tmp_path))
    assert code == 1 and "never unpickles" in err and not marker.exists()
    from xmr_gui.core.learn.checkpoint import CheckpointError, read_card

    bomb.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00" + b'{"__metadata__":' + b"x" * 8)  # tampered header
    with pytest.raises(CheckpointError, match="corrupt"):
        read_card(bomb)


def test_checkpoint_for_another_backbone_is_refused(tmp_path, library, photos):
    from xmr_gui.core.base.paths import shipped_demo_checkpoint
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.runtime.spec import ModelError

    if shipped_demo_checkpoint() is None:
        pytest.skip("models/xmr-demo.xmr is not in this checkout")
    index_folder(library, photos)  # indexed with xmr-tiny
    with pytest.raises(ModelError, match="re-index with the checkpoint's backbone"):
        library.attach_checkpoint(shipped_demo_checkpoint())


# -- queries ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def indexed_lib(tmp_path_factory, tiny_spec, tiny_encoder):
    from conftest import write_photos
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.store.library import Library

    root = tmp_path_factory.mktemp("q")
    write_photos(root / "photos", 12)
    lib = Library.create(root / "db", root / "photos", tiny_spec)
    lib.use_encoder(tiny_encoder)
    index_folder(lib, root / "photos")
    yield lib
    lib.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    query=st.one_of(
        st.text(max_size=300),
        st.just(""),
        st.just("   \t\n"),
        st.just("x" * 100_000),
        st.just("🐶🏖️👨‍👩‍👧"),
        st.just("שלום עולם مرحبا"),
        st.just("\x00\x01\x1b[31m"),
    ),
    k=st.one_of(st.integers(-5, 50), st.just(10**9)),
    min_score=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(-1.0), st.just(1.0)),
)
def test_any_query_never_crashes(indexed_lib, query, k, min_score):
    from xmr_gui.core.search.photos import clean_query, search_text

    hits = search_text(indexed_lib, query, k=k, min_score=min_score)
    assert len(hits) <= max(min(k, 12), 0)
    assert all(h.score >= min_score for h in hits)
    if not clean_query(query):
        assert hits == []
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
