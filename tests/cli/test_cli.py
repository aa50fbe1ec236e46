"""Each `xmr` subcommand on tiny data, through main(argv) as a user's shell would call it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli as run
from xmr_gui.cli import main
from xmr_gui.core.runtime.spec import ModelSpec

TINY = ["--model", "xmr-tiny", "--weights", "random"]


@pytest.fixture
def indexed(tmp_path, photos, capsys):
    (photos / "broken.jpg").write_text("not a jpeg")
    db = tmp_path / "db"
    code, out, err = run(capsys, "index", str(photos), "--db", str(db), "--json", *TINY)
    assert code == 0, err
    assert json.loads(out) == {"added": 24, "updated": 0, "unchanged": 0, "removed": 0, "skipped": 1}
    assert "RANDOM" in err
    return db


def test_index_json_counts_and_rerun(indexed, photos, capsys):
    code, out, _ = run(capsys, "index", str(photos), "--db", str(indexed), "--json", *TINY)
    assert json.loads(out) == {"added": 0, "updated": 0, "unchanged": 24, "removed": 0, "skipped": 1}


def test_search_prints_score_tab_absolute_path(indexed, photos, capsys):
    code, out, _ = run(capsys, "search", "a dog on the beach", "--db", str(indexed), "-k", "5")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 5
    scores = [float(line.split("\t")[0]) for line in lines]
    assert scores == sorted(scores, reverse=True)
    assert all(Path(line.split("\t")[1]).is_absolute() and Path(line.split("\t")[1]).exists() for line in lines)


def test_search_min_score_and_json(indexed, capsys):
    _, out, _ = run(capsys, "search", "sky", "--db", str(indexed), "-k", "50", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 24 and set(rows[0]) == {"score", "path"}
    cut = rows[5]["score"]
    _, out, _ = run(capsys, "search", "sky", "--db", str(indexed), "-k", "50", "--min-score", str(cut))
    assert all(float(line.split("\t")[0]) >= round(cut, 4) - 1e-4 for line in out.splitlines())  # printed to 4 places
    assert 5 <= len(out.splitlines()) < 24


def test_search_image_and_describe(indexed, photos, capsys, tmp_path):
    code, out, _ = run(capsys, "search", "--image", str(photos / "photo_0001.jpg"), "--db", str(indexed), "-k", "3")
    assert code == 0 and len(out.splitlines()) == 3
    labels = tmp_path / "labels.txt"
    labels.write_text("dog\ncat\n# comment\nbeach\n")
    code, out, _ = run(
        capsys, "describe", str(photos / "photo_0001.jpg"), "--db", str(indexed), "--labels", str(labels)
    )
    assert code == 0 and sorted(line.split("\t")[1] for line in out.splitlines()) == ["beach", "cat", "dog"]
    code, out, _ = run(capsys, "describe", str(photos / "photo_0001.jpg"), "--db", str(indexed), "-k", "4")
    assert len(out.splitlines()) == 4


def test_skipped_lists_reason(indexed, photos, capsys):
    code, out, _ = run(capsys, "skipped", "--db", str(indexed))
    assert out == f"{photos / 'broken.jpg'}\tnot an image (unrecognised file format)\n"


def test_rerun_counts_files_still_unreadable_as_skipped(photos, tmp_path, capsys):
    """`skipped` = files unreadable after this run (new or still), `unchanged` = indexed files with no change;
    `xmr skipped` lists the same files. A fixed file is indexed and leaves both."""
    good = (photos / "photo_0000.jpg").read_bytes()
    bad = [photos / "empty.jpg", photos / "notes.jpg", photos / "cut.jpg"]
    bad[0].write_bytes(b"")
    bad[1].write_text("hello")
    bad[2].write_bytes(good[: len(good) // 2])
    db = str(tmp_path / "db")

    def index() -> dict:
        code, out, err = run(capsys, "index", str(photos), "--db", db, "--json", *TINY)
        assert code == 0, err
        return json.loads(out)

    def listed() -> list[str]:
        _, out, _ = run(capsys, "skipped", "--db", db, "--json")
        return [json.loads(line)["path"] for line in out.splitlines()]

    assert index() == {"added": 24, "updated": 0, "unchanged": 0, "removed": 0, "skipped": 3}
    assert index() == {"added": 0, "updated": 0, "unchanged": 24, "removed": 0, "skipped": 3}
    assert sorted(listed()) == sorted(map(str, bad))
    _, _, err = run(capsys, "index", str(photos), "--db", db, *TINY)  # the human summary says the same
    assert "0 added, 0 updated, 24 unchanged, 0 removed, 3 skipped" in err
    assert "3 skipped before, still unreadable; see `xmr skipped`" in err
    bad[0].write_bytes(good)  # fixed: indexed on the next run
    assert index() == {"added": 0, "updated": 1, "unchanged": 24, "removed": 0, "skipped": 2}
    assert sorted(listed()) == sorted(map(str, bad[1:]))
    from xmr_gui.core.store.catalog import Catalog

    with Catalog(Path(db) / "catalog.sqlite", readonly=True) as cat:
        assert cat.files()[str(bad[0])].status == "indexed" and cat.count() == 25
    assert index() == {"added": 0, "updated": 0, "unchanged": 25, "removed": 0, "skipped": 2}
    bad[1].unlink()  # a deleted unreadable file is dropped, not skipped
    assert index() == {"added": 0, "updated": 0, "unchanged": 25, "removed": 1, "skipped": 1}
    assert listed() == [str(bad[2])]


def test_default_db_is_found_from_the_folder(photos, capsys, monkeypatch):
    assert run(capsys, "index", str(photos), *TINY)[0] == 0
    monkeypatch.chdir(photos)
    code, out, err = run(capsys, "search", "anything", "-k", "2")
    assert code == 0 and len(out.splitlines()) == 2 and "using the index" not in err


def test_errors_are_messages_not_tracebacks(tmp_path, capsys):
    code, _, err = run(capsys, "index", str(tmp_path / "nope"), *TINY)
    assert code == 1 and "is not a folder" in err
    code, _, err = run(capsys, "search", "x", "--db", str(tmp_path / "empty"))
    assert code == 1 and "index a folder first" in err
    code, _, err = run(capsys, "index", str(tmp_path), "--model", "no-such-model", "--weights", "random")
    assert code == 1 and "unknown model" in err
    code, _, err = run(capsys, "index", str(tmp_path), "--model", "xmr-tiny", "--weights", "laion2b_s34b_b79k")
    assert code == 1 and "laion2b_s34b_b79k" in err.splitlines()[-1] and "Traceback" not in err


def test_a_user_error_is_one_line_and_a_bug_keeps_its_traceback(capsys, monkeypatch):
    """An XmrError (anything the user can fix) is `xmr: error: ...`, exit 1; any other exception is a bug in xmr:
    it is not dressed up as an error message but surfaces with its traceback and where to report it."""
    from xmr_gui.core.base import paths
    from xmr_gui.core.base.errors import REPORT_URL, XmrError

    def refuse():
        raise XmrError("the data folder is on a drive that is not mounted: mount it")

    monkeypatch.setattr(paths, "data_dir", refuse)
    code, out, err = run(capsys, "paths")
    assert code == 1 and err == "xmr: error: the data folder is on a drive that is not mounted: mount it\n"

    monkeypatch.setattr(paths, "data_dir", lambda: {}["a bug"])
    with pytest.raises(KeyError):
        main(["paths"])
    assert REPORT_URL in capsys.readouterr().err
    bug = (
        "import xmr_gui.core.base.paths as p; p.data_dir = lambda: 1 / 0; from xmr_gui.cli import main; main(['paths'])"
    )
    done = subprocess.run([sys.executable, "-c", bug], capture_output=True, text=True)
    assert done.returncode == 1 and "xmr: error" not in done.stderr
    assert REPORT_URL in done.stderr and "Traceback" in done.stderr and "ZeroDivisionError" in done.stderr


def test_every_domain_error_is_an_xmr_error_and_nothing_else():
    """One hierarchy: a domain error is an XmrError and no built-in error besides (an `except ValueError` must not
    catch what the user is to be told, nor an `except XmrError` a bug)."""
    from xmr_gui.cli import CliError
    from xmr_gui.core.base.errors import XmrError
    from xmr_gui.core.learn.checkpoint import CheckpointError
    from xmr_gui.core.learn.dataset import DatasetError
    from xmr_gui.core.learn.keywords import KeywordError
    from xmr_gui.core.learn.label_graph import GraphError
    from xmr_gui.core.learn.model import ConfigError
    from xmr_gui.core.runtime.clip_onnx import PreparationCancelled
    from xmr_gui.core.runtime.hub_download import DownloadCancelled
    from xmr_gui.core.runtime.images import ImageSkipped
    from xmr_gui.core.runtime.spec import ModelError
    from xmr_gui.core.search.labels import VocabularyError
    from xmr_gui.core.search.suggest import SuggestError
    from xmr_gui.core.session import SessionError
    from xmr_gui.core.store.catalog import CatalogError
    from xmr_gui.core.store.library import LibraryBusy, LibraryError
    from xmr_gui.core.store.vindex import IndexError_
    from xmr_gui.core.views.embedding_map import MapError

    for cls in (
        CliError,
        CheckpointError,
        DatasetError,
        GraphError,
        ConfigError,
        PreparationCancelled,
        ImageSkipped,
        ModelError,
        VocabularyError,
        SessionError,
        CatalogError,
        LibraryBusy,
        LibraryError,
        IndexError_,
        MapError,
        KeywordError,
        DownloadCancelled,
        SuggestError,
    ):
        assert issubclass(cls, XmrError), cls
        others = [base for base in cls.__mro__ if base not in XmrError.__mro__ and not issubclass(base, XmrError)]
        assert others == [], (cls, others)
    assert XmrError.__mro__ == (XmrError, Exception, BaseException, object)


def test_demo_out_writes_dataset(tmp_path, capsys):
    code, out, _ = run(capsys, "demo", "--out", str(tmp_path / "w"), "--size", "12")
    rows = [json.loads(line) for line in (tmp_path / "w" / "labels.jsonl").read_text().splitlines()]
    assert code == 0 and len(rows) == 12
    assert all((tmp_path / "w" / r["file"]).exists() and r["labels"] and r["caption"] for r in rows)


def test_help_of_every_command(capsys):
    for cmd in ("index", "search", "describe", "skipped", "demo", "paths"):
        with pytest.raises(SystemExit) as exit_:
            main([cmd, "--help"])
        assert exit_.value.code == 0
        assert cmd in capsys.readouterr().out


@pytest.mark.parametrize("backend", ["hnsw", "lancedb"])
def test_killed_index_resumes_consistently(tmp_path, backend):
    """SIGKILL mid-index, several times; every resume keeps catalog and index consistent, nothing re-encoded."""
    if backend != "hnsw":
        pytest.importorskip(backend)
    folder = tmp_path / "big"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(150):  # PNGs decode slowly enough to be caught mid-run
        Image.fromarray(rng.integers(0, 255, (400, 400, 3), dtype=np.uint8)).save(folder / f"p{i:03d}.png")
    db = tmp_path / "db"
    cmd = [
        sys.executable,
        "-m",
        "xmr_gui.cli",
        "index",
        str(folder),
        "--db",
        str(db),
        "--batch-size",
        "4",
        "--workers",
        "1",
        "-q",
        "--backend",
        backend,
        *TINY,
    ]
    env = dict(os.environ)
    kills = 0
    for _ in range(3):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        target = 8 + 30 * kills
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            try:
                n = sqlite3.connect(db / "catalog.sqlite").execute("SELECT COUNT(*) FROM files").fetchone()[0]
            except sqlite3.Error:
                n = 0
            if n >= target:
                proc.send_signal(signal.SIGKILL)
                kills += 1
                break
            time.sleep(0.02)
        proc.wait()
    assert kills >= 1
    before = sqlite3.connect(db / "catalog.sqlite").execute("SELECT COUNT(*) FROM files").fetchone()[0]
    done = subprocess.run([*cmd, "--json"], env=env, capture_output=True, text=True, check=True)
    counts = json.loads(done.stdout)
    assert counts["added"] == 150 - before and counts["unchanged"] == before
    from xmr_gui.core.store.library import Library

    with Library.open(db) as lib:
        files = lib.catalog.files()
        assert len(files) == 150 and all(r.status == "indexed" for r in files.values())
        assert lib.index.ids() == {r.id for r in files.values()}
        if backend == "lancedb":  # and no photo's row twice in the table
            assert lib.index._table.count_rows() == 150  # type: ignore[attr-defined]


def test_plain_demo_builds_indexes_and_searches(tmp_path, capsys):
    code, out, err = run(capsys, "demo", "--size", "30", "--db", str(tmp_path / "db"))
    assert code == 0 and "# a beach with a boat" in out
    hits = [line for line in out.splitlines() if not line.startswith("#")]
    assert len(hits) >= 4 * 3 and all(Path(line.split("\t")[1]).exists() for line in hits if "/" in line)
    from xmr_gui.core.demo.world import add_sample_photos

    samples = add_sample_photos(tmp_path / "probe")  # the `demo` extra's photos join the index when installed
    assert f"indexed {30 + len(samples)} added" in err
    if samples:
        assert "scikit-image sample photos" in err


def test_export_then_import_searches_the_same(indexed, photos, tmp_path, capsys):
    pytest.importorskip("pyarrow")
    code, before, _ = run(capsys, "search", "a dog", "--db", str(indexed), "-k", "5")
    assert run(capsys, "export", "--db", str(indexed), "--parquet", str(tmp_path / "v.parquet"))[0] == 0
    moved = tmp_path / "elsewhere"
    photos.rename(moved)  # the same photos, another folder on another machine
    code, out, err = run(
        capsys,
        "import",
        "--parquet",
        str(tmp_path / "v.parquet"),
        "--folder",
        str(moved),
        "--db",
        str(tmp_path / "db2"),
        "--json",
    )
    assert code == 0 and json.loads(out)["imported"] == 24, err
    code, after, _ = run(capsys, "search", "a dog", "--db", str(tmp_path / "db2"), "-k", "5")
    assert after == before.replace(str(photos), str(moved))
    code, out, _ = run(capsys, "index", str(moved), "--db", str(tmp_path / "db2"), "--json", *TINY)
    assert json.loads(out)["unchanged"] == 24  # nothing re-encoded: sizes and mtimes were taken on import


def test_portable_library_travels_with_the_folder(photos, tmp_path, capsys, monkeypatch):
    assert run(capsys, "index", str(photos), "--portable", "-q", *TINY)[0] == 0
    assert (photos / ".xmr" / "catalog.sqlite").exists()
    moved = tmp_path / "drive" / "photos"
    moved.parent.mkdir()
    photos.rename(moved)  # the drive is mounted elsewhere on another computer
    monkeypatch.chdir(moved)
    code, out, err = run(capsys, "search", "a dog", "-k", "3")
    assert code == 0 and len(out.splitlines()) == 3
    assert all(line.split("\t")[1].startswith(str(moved)) for line in out.splitlines())  # re-rooted paths
    code, out, _ = run(capsys, "index", str(moved), "--json", *TINY)
    assert json.loads(out) == {"added": 0, "updated": 0, "unchanged": 24, "removed": 0, "skipped": 0}


def test_library_dir_decides_where_a_folders_database_lives(tmp_path):
    from xmr_gui.core.base import paths
    from xmr_gui.core.store.locate import library_dir

    folder = tmp_path / "photos"
    folder.mkdir()
    assert library_dir(folder) == paths.default_db_dir(folder)
    assert library_dir(folder, tmp_path / "db", portable=True) == tmp_path / "db"  # --db wins
    assert library_dir(folder, portable=True) == folder / ".xmr"
    (folder / ".xmr").mkdir()
    (folder / ".xmr" / "catalog.sqlite").touch()
    assert library_dir(folder) == folder / ".xmr"  # a portable library is found again without --portable


def test_a_checkpoints_backbone_wins_through_the_front_door(tmp_path):
    """core.opening.open_folder (what `xmr index`, the window's session and `xmr demo` call): a checkpoint's own
    backbone encodes, whatever model the request also names, and the decision says why."""
    from conftest import write_linear_checkpoint
    from xmr_gui.core.models import ModelWish
    from xmr_gui.core.opening import OpenRequest, open_folder
    from xmr_gui.core.runtime.spec import Precision

    backbone = ModelSpec.parse("xmr-tiny", "random")
    ckpt = tmp_path / "c.xmr"
    write_linear_checkpoint(ckpt, backbone, 16, ["a", "b"])
    photos = tmp_path / "photos"
    photos.mkdir()
    request = OpenRequest(photos, ModelWish(ckpt, ModelSpec.parse("xmr-small", "random")), db=tmp_path / "db")
    with open_folder(replace(request, precision=Precision.FP32)) as opened:
        assert opened.library.spec.model == "xmr-tiny" and opened.decision.checkpoint == ckpt
        assert opened.library.checkpoint is not None and str(ckpt) in opened.decision.line
        assert opened.prepared.reason == "fp32 asked for"


def test_the_demo_model_is_the_shipped_checkpoints_backbone_else_a_random_one(tmp_path, monkeypatch):
    from conftest import write_linear_checkpoint
    from xmr_gui.core import demo_run
    from xmr_gui.core.base import paths

    ckpt = tmp_path / "c.xmr"
    write_linear_checkpoint(ckpt, ModelSpec.parse("xmr-small", "random"), 16, ["a", "b"])
    monkeypatch.setattr(paths, "shipped_demo_checkpoint", lambda: ckpt)
    demo, note = demo_run.demo_model()
    assert (demo.model, demo.weights) == ("xmr-small", "random") and str(ckpt) in note
    monkeypatch.setattr(paths, "shipped_demo_checkpoint", lambda: None)
    assert demo_run.demo_model()[0] == ModelSpec.parse("xmr-tiny", "random")


def test_doctor_finds_a_portable_library(tmp_path, capsys):
    """`xmr index FOLDER --portable`, then `xmr doctor FOLDER`: the library inside the folder is found."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(2):
        Image.new("RGB", (32, 32), (40 * i, 90, 200)).save(photos / f"p{i}.png")
    code, _, err = run(capsys, "index", str(photos), "--portable", *TINY)
    assert code == 0, err
    code, out, err = run(capsys, "doctor", str(photos))
    assert code == 0, err
    assert f"library\t{photos / '.xmr'}\t" in out
    code, out, err = run(capsys, "doctor", str(tmp_path / "elsewhere"))
    assert code == 1 and "is not indexed yet" in err and "Traceback" not in err


def test_every_cli_command_is_known_to_the_app_entry_point():
    """The packaged app routes argv[1] in COMMANDS to the CLI, anything else to the window: keep them in step."""
    from xmr_gui.cli import COMMANDS, build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert sorted(COMMANDS) == sorted(sub.choices)


def test_fp16_storage_halves_the_vectors_and_finds_the_same_photos(photos, tmp_path, capsys):
    from conftest import write_photos
    from xmr_gui.core.store.catalog import Catalog

    results, blobs = {}, {}
    for storage in ("fp32", "fp16"):
        db = tmp_path / storage
        assert run(capsys, "index", str(photos), "--db", str(db), "--storage", storage, "-q", *TINY)[0] == 0
        live = run(capsys, "search", "a blue square", "--db", str(db), "-k", "5")[1]
        for part in db.glob("index-*"):  # searched again from an index rebuilt out of the stored vectors
            part.unlink()
        results[storage] = run(capsys, "search", "a blue square", "--db", str(db), "-k", "5")[1]
        assert results[storage] == live  # the index built while indexing holds what the catalog holds
        cat = Catalog(db / "catalog.sqlite")
        blobs[storage] = cat._db.execute("SELECT SUM(LENGTH(vector)) FROM files").fetchone()[0]
        cat.close()
    assert blobs["fp16"] * 2 == blobs["fp32"]
    paths = [[line.split("\t")[1] for line in out.splitlines()] for out in results.values()]
    assert paths[0] == paths[1]
    # A library switched to fp16 midway holds both kinds of rows; every one still reads back.
    write_photos(photos / "more", 6, seed=5)
    assert run(capsys, "index", str(photos), "--db", str(tmp_path / "fp32"), "--storage", "fp16", "-q", *TINY)[0] == 0
    cat = Catalog(tmp_path / "fp32" / "catalog.sqlite")
    sizes = {r[0] for r in cat._db.execute("SELECT DISTINCT LENGTH(vector) FROM files")}
    ids, vectors = cat.indexed_vectors(int(cat.get_meta("dim")))
    cat.close()
    assert len(sizes) == 2 and len(ids) == 30 and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-2)


def test_a_checkpoint_search_keeps_the_index_it_builds(indexed, tmp_path, capsys):
    """The first search in a checkpoint's space builds that index from stored vectors and saves it; later
    searches load it (before, every `xmr search --checkpoint` rebuilt it) and answer the same."""
    from conftest import write_linear_checkpoint
    from xmr_gui.core.runtime.spec import ModelSpec
    from xmr_gui.core.store.catalog import Catalog

    cat = Catalog(indexed / "catalog.sqlite")
    d = int(cat.get_meta("dim"))
    cat.close()
    ckpt = tmp_path / "c.xmr"
    write_linear_checkpoint(ckpt, ModelSpec.parse("xmr-tiny", "random"), d, ["a", "b"])
    before = set(indexed.glob("index-*.json"))
    first = run(capsys, "search", "a dog", "--db", str(indexed), "--checkpoint", str(ckpt), "-k", "5")
    made = set(indexed.glob("index-*.json")) - before
    assert first[0] == 0 and len(made) == 1  # the checkpoint space's index, saved
    stamp = next(iter(made)).stat().st_mtime_ns
    second = run(capsys, "search", "a dog", "--db", str(indexed), "--checkpoint", str(ckpt), "-k", "5")
    assert second[1] == first[1] and next(iter(made)).stat().st_mtime_ns == stamp  # loaded, not rebuilt
