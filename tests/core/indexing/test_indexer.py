from __future__ import annotations

import json
import os
import shutil
import threading

import pytest
from PIL import Image

from conftest import write_photos
from xmr_gui.core.indexing.indexer import index_folder
from xmr_gui.core.search.photos import search_image, search_text
from xmr_gui.core.store.library import Library, LibraryBusy


def consistent(lib: Library, folder) -> None:
    """Catalog rows = index entries = image files on disk, no duplicates."""
    on_disk = sorted(str(p) for p in folder.rglob("*.jpg"))
    files = lib.catalog.files()
    indexed = {p: r.id for p, r in files.items() if r.status == "indexed"}
    assert sorted(indexed) == on_disk
    assert lib.index.ids() == set(indexed.values())
    assert len(set(indexed.values())) == len(indexed)


def test_index_then_rerun_encodes_nothing(library, photos):
    first = index_folder(library, photos, batch_size=5)
    assert first.counts() == {"added": 24, "updated": 0, "unchanged": 0, "removed": 0, "skipped": 0}
    assert first.encoded == 24
    second = index_folder(library, photos)
    assert second.encoded == 0 and second.counts()["unchanged"] == 24
    consistent(library, photos)


def test_changes_and_deletions_are_picked_up(library, photos):
    index_folder(library, photos)
    os.remove(photos / "photo_0003.jpg")
    Image.new("RGB", (50, 50), (255, 0, 0)).save(photos / "photo_0004.jpg")
    write_photos(photos / "sub", 2, seed=9)
    report = index_folder(library, photos)
    assert report.counts() == {"added": 2, "updated": 1, "unchanged": 22, "removed": 1, "skipped": 0}
    assert report.encoded == 3
    consistent(library, photos)


def test_index_persists_and_reloads(tmp_path, library, photos, tiny_encoder):
    index_folder(library, photos)
    expected = search_text(library, "a red square", k=5)
    library.close()
    with Library.open(tmp_path / "db") as again:
        again.use_encoder(tiny_encoder)
        assert search_text(again, "a red square", k=5) == expected
        consistent(again, photos)


def test_near_duplicate_is_the_best_image_match(library, photos):
    shutil.copy(photos / "photo_0007.jpg", photos / "copy_of_7.jpg")
    index_folder(library, photos)
    hits = search_image(library, photos / "photo_0007.jpg", k=3)
    assert hits[0].path == str(photos / "copy_of_7.jpg") and hits[0].score > 0.999
    assert all(h.path != str(photos / "photo_0007.jpg") for h in hits)


def test_bad_files_are_skipped_with_reasons_and_good_ones_indexed(library, photos):
    (photos / "empty.jpg").write_bytes(b"")
    (photos / "notes.jpg").write_text("hello")
    good = (photos / "photo_0000.jpg").read_bytes()
    (photos / "cut.jpg").write_bytes(good[: len(good) // 2])
    (photos / ".hidden.jpg").write_bytes(good)
    os.symlink(photos / "missing.jpg", photos / "dangling.jpg")
    report = index_folder(library, photos)
    reasons = dict(library.catalog.skipped())
    assert report.skipped == 4 and report.added == 24
    assert "empty file" in reasons[str(photos / "empty.jpg")]
    assert "not an image" in reasons[str(photos / "notes.jpg")]
    assert "truncated" in reasons[str(photos / "cut.jpg")]
    assert "broken symlink" in reasons[str(photos / "dangling.jpg")]
    assert str(photos / ".hidden.jpg") not in library.catalog.files()
    # a skipped file that is fixed gets indexed on the next run
    (photos / "empty.jpg").write_bytes(good)
    again = index_folder(library, photos)
    assert again.updated == 1 and str(photos / "empty.jpg") not in dict(library.catalog.skipped())
    # the other three are still unreadable: skipped again, not "unchanged"
    assert again.skipped == 3 == len(library.catalog.skipped()) and again.unchanged == 24


def test_cancelled_run_still_counts_files_skipped_before(library, photos):
    bad = [photos / "a.jpg", photos / "b.jpg"]
    for p in bad:
        p.write_text("not a photo")
    assert index_folder(library, photos).skipped == 2
    for p in bad:  # changed, so due for a retry that the cancelled run never reaches
        p.write_text("still not a photo")
    cancel = threading.Event()
    cancel.set()
    report = index_folder(library, photos, cancel=cancel)
    assert report.cancelled and report.counts() == {
        "added": 0,
        "updated": 0,
        "unchanged": 24,
        "removed": 0,
        "skipped": 2,
    }
    assert len(library.catalog.skipped()) == 2


def test_cancel_stops_and_next_run_resumes(library, photos):
    cancel = threading.Event()
    seen = []

    def progress(p):
        seen.append(p.done)
        if p.done >= 8:
            cancel.set()

    first = index_folder(library, photos, batch_size=4, workers=1, on_progress=progress, cancel=cancel)
    assert first.cancelled and 8 <= first.encoded < 24
    second = index_folder(library, photos, batch_size=4)
    assert second.encoded == 24 - first.encoded
    consistent(library, photos)


def test_a_run_saves_its_index_every_save_every_seconds(tmp_path, library, photos, tiny_spec, tiny_encoder):
    """Each batch is committed, reported, then saved once `save_every` seconds have passed since the last save; a
    run saves at its end in any case."""

    def saved(lib: Library) -> int:  # photos in the index on disk
        manifests = list(lib.db_dir.glob("index-*.json"))
        return json.loads(manifests[0].read_text())["count"] if manifests else 0

    on_disk: list[tuple[int, int]] = []
    index_folder(
        library,
        photos,
        batch_size=4,
        workers=1,
        save_every=0.0,
        on_progress=lambda p: on_disk.append((p.done, saved(library))),
    )
    assert on_disk == [(4 * k, 4 * (k - 1)) for k in range(1, 7)] and saved(library) == 24
    on_disk.clear()
    with Library.create(tmp_path / "db2", photos, tiny_spec) as later:
        later.use_encoder(tiny_encoder)
        index_folder(
            later,
            photos,
            batch_size=4,
            workers=1,
            save_every=3600,
            on_progress=lambda p: on_disk.append((p.done, saved(later))),
        )
        assert on_disk == [(4 * k, 0) for k in range(1, 7)] and saved(later) == 24


def test_index_repaired_from_catalog_after_crash_between_commit_and_save(tmp_path, library, photos, tiny_encoder):
    index_folder(library, photos)
    saved = {p.name: p.read_bytes() for p in (tmp_path / "db").glob("index-*")}
    write_photos(photos / "more", 3, seed=5)
    index_folder(library, photos)
    library.close()
    for p in (tmp_path / "db").glob("index-*"):  # roll the index back: as if killed before its save
        p.unlink()
    for name, data in saved.items():
        (tmp_path / "db" / name).write_bytes(data)
    with Library.open(tmp_path / "db") as lib:
        lib.use_encoder(tiny_encoder)
        consistent(lib, photos)


def test_damaged_index_file_is_rebuilt_from_catalog(tmp_path, library, photos, tiny_encoder):
    index_folder(library, photos)
    library.close()
    for p in (tmp_path / "db").glob("index-*.hnsw"):
        p.write_bytes(b"garbage")
    with Library.open(tmp_path / "db") as lib:
        lib.use_encoder(tiny_encoder)
        consistent(lib, photos)


def test_second_writer_is_refused(library, photos):
    with library.writing():
        with pytest.raises(LibraryBusy, match="another xmr process"):
            index_folder(library, photos)


def test_switching_model_reencodes(tmp_path, library, photos):
    from xmr_gui.core.runtime.spec import ModelSpec

    index_folder(library, photos)
    library.close()
    other = ModelSpec.parse("xmr-small", "random")
    with Library.create(tmp_path / "db", photos, other) as lib:
        assert lib.catalog.count() == 0
        assert lib.spec.identity() == other.identity()


def test_qdrant_backend_gives_the_same_results_as_hnsw(tmp_path, library, photos, tiny_encoder):
    pytest.importorskip("qdrant_client")
    index_folder(library, photos)
    want = [(h.path, round(h.score, 4)) for h in search_text(library, "a red square", k=8)]
    library.set_backend("qdrant")
    assert [(h.path, round(h.score, 4)) for h in search_text(library, "a red square", k=8)] == want
    os.remove(photos / "photo_0001.jpg")
    index_folder(library, photos)  # deletions reach qdrant too
    library.close()
    with Library.open(tmp_path / "db") as again:  # reopened from qdrant's own storage
        again.use_encoder(tiny_encoder)
        assert again.backend == "qdrant" and len(again.index) == 23
        consistent(again, photos)


def test_heic_skipped_without_the_extra_is_retried_once_it_is_installed(tmp_path):
    """A HEIC photo skipped for want of pillow-heif is indexed by the next run after `pip install 'xmr[heic]'`."""
    import json
    import subprocess
    import sys

    from xmr_gui.core.runtime.images import heif_supported

    if not heif_supported():  # also registers the HEIF writer used below
        pytest.skip("the heic extra (pillow-heif) is not installed")

    photos = tmp_path / "photos"
    write_photos(photos, 3)
    Image.new("RGB", (64, 48), (200, 30, 30)).save(photos / "phone.heic")
    code = (
        "import sys\n"
        "if sys.argv[1] == 'without': sys.modules['pillow_heif'] = None  # as if the extra were not installed\n"
        "from xmr_gui.cli import main\n"
        f"raise SystemExit(main(['index', {str(photos)!r}, '--db', {str(tmp_path / 'db')!r}, '--json', '-q',"
        " '--model', 'xmr-tiny', '--weights', 'random']))\n"
    )
    counts = []
    for mode in ("without", "with", "with"):
        done = subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        counts.append(json.loads(done.stdout.splitlines()[-1]))
        if mode == "without":
            assert "install the heic extra" in done.stderr
    assert counts[0]["skipped"] == 1 and counts[0]["added"] == 3
    assert counts[1]["skipped"] == 0 and counts[1]["updated"] == 1  # retried, now readable
    assert counts[2]["unchanged"] == 4  # and not retried again
