"""`index_folder_on_ray` on a real local Ray cluster (2 CPUs, started once for the module): the same library as the
single-process indexer, a cancel that leaves it consistent and a re-run that encodes only the rest."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from test_indexer import consistent

from conftest import run_cli, write_photos
from xmr_gui.core.indexing.indexer import index_folder
from xmr_gui.core.search.photos import search_image
from xmr_gui.core.store.library import Library

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

TINY = ["--model", "xmr-tiny", "--weights", "random"]


@pytest.fixture(scope="module")
def cluster():
    """One local Ray cluster for the module (~10 s to start here); index_folder_on_ray uses it as it is."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    yield
    ray.shutdown()


def vectors(lib: Library) -> dict[str, np.ndarray]:
    """Each indexed photo's stored vector, by path."""
    ids, vecs = lib.catalog.indexed_vectors(lib.dim)
    paths = lib.catalog.paths_for([int(i) for i in ids])
    return {str(p): v for p, v in zip(paths, vecs, strict=True)}


def add_bad_files(photos: Path) -> None:
    good = (photos / "photo_0000.jpg").read_bytes()
    (photos / "empty.jpg").write_bytes(b"")
    (photos / "notes.jpg").write_text("hello")
    (photos / "cut.jpg").write_bytes(good[: len(good) // 2])
    os.symlink(photos / "missing.jpg", photos / "dangling.jpg")


def test_ray_gives_the_single_process_vectors_and_skips(cluster, tmp_path, photos, tiny_spec, tiny_encoder):
    from xmr_gui.core.indexing.ray_job import index_folder_on_ray

    add_bad_files(photos)
    with Library.create(tmp_path / "single", photos, tiny_spec) as single:
        single.use_encoder(tiny_encoder)
        expected = index_folder(single, photos, batch_size=5)
        want, want_skips = vectors(single), sorted(single.catalog.skipped())
    seen = []
    with Library.create(tmp_path / "ray", photos, tiny_spec) as lib:
        report = index_folder_on_ray(lib, photos, batch_size=4, on_progress=seen.append)
        got = vectors(lib)
        assert report.counts() == expected.counts() and report.encoded == 24
        assert sorted(lib.catalog.skipped()) == want_skips and len(want_skips) == 4
        assert sorted(report.new_skips) == sorted(expected.new_skips)
        assert sorted(got) == sorted(want)
        cosines = [float(got[p] @ want[p] / np.linalg.norm(got[p]) / np.linalg.norm(want[p])) for p in want]
        assert min(cosines) >= 0.9999
        assert seen[-1].done == seen[-1].total == 28 and [p.done for p in seen] == sorted(p.done for p in seen)
        # a re-run finds nothing to do
        assert index_folder_on_ray(lib, photos).encoded == 0


def test_cancel_leaves_a_consistent_library_and_a_rerun_encodes_the_rest(cluster, tmp_path, tiny_spec):
    from xmr_gui.core.indexing.ray_job import index_folder_on_ray

    photos = tmp_path / "photos"
    write_photos(photos, 40, seed=3)
    shutil.copy(photos / "photo_0007.jpg", photos / "copy_of_7.jpg")
    cancel = threading.Event()

    def progress(p):
        if p.done >= 8:
            cancel.set()

    with Library.create(tmp_path / "db", photos, tiny_spec) as lib:
        first = index_folder_on_ray(lib, photos, batch_size=4, on_progress=progress, cancel=cancel)
        assert first.cancelled and 8 <= first.encoded < 41
        indexed = lib.catalog.count()
        assert indexed == first.encoded and lib.index.ids() == set(lib.catalog.indexed_ids().tolist())
    with Library.open(tmp_path / "db") as lib:  # what was committed survived the cancel, and only the rest is encoded
        second = index_folder_on_ray(lib, photos, batch_size=4)
        assert second.encoded == 41 - first.encoded and second.unchanged == first.encoded
        consistent(lib, photos)
        hits = search_image(lib, photos / "photo_0007.jpg", k=3)
        assert hits[0].path == str(photos / "copy_of_7.jpg") and hits[0].score > 0.999


def test_xmr_index_ray_then_search(cluster, tmp_path, photos, capsys):
    (photos / "broken.jpg").write_text("not a jpeg")
    code, out, err = run_cli(capsys, "index", str(photos), "--db", str(tmp_path / "ray"), "--ray", "--json", *TINY)
    assert code == 0, err
    assert json.loads(out) == {"added": 24, "updated": 0, "unchanged": 0, "removed": 0, "skipped": 1}
    code, out, _ = run_cli(capsys, "index", str(photos), "--db", str(tmp_path / "one"), "--json", *TINY)
    assert code == 0
    with Library.open(tmp_path / "ray") as by_ray, Library.open(tmp_path / "one") as single:
        got, want = vectors(by_ray), vectors(single)
        assert sorted(got) == sorted(want)
        assert min(float(got[p] @ want[p]) / np.linalg.norm(got[p]) / np.linalg.norm(want[p]) for p in want) >= 0.9999
        assert by_ray.catalog.skipped() == single.catalog.skipped()
    answers = []
    for db in ("ray", "one"):  # the library made on Ray answers as the single-process one does
        code, out, err = run_cli(
            capsys, "search", str(photos / "photo_0003.jpg"), "--db", str(tmp_path / db), "-k", "5"
        )
        assert code == 0, err
        answers.append([line.split("\t")[1] for line in out.splitlines()])
    assert answers[0] == answers[1] and len(answers[0]) == 5


@pytest.mark.slow
def test_xmr_index_ray_starts_a_local_cluster_and_ctrl_c_keeps_what_was_written(cluster, tmp_path, capsys):
    """No cluster in its process: `--ray` starts one for the run (and says so); Ctrl-C stops it with the library
    consistent, and a re-run (here on the module's cluster) encodes only the rest."""
    photos = tmp_path / "photos"
    write_photos(photos, 200, seed=5)
    db = tmp_path / "db"
    argv = ["-m", "xmr_gui.cli", "index", str(photos), "--db", str(db), "--ray", "--batch-size", "2", *TINY]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.Popen([sys.executable, *argv], stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    assert run.stderr is not None
    said = ""
    while "img/s" not in said and run.poll() is None:  # the first progress: some batches are written
        said += run.stderr.read(1)
    os.kill(run.pid, signal.SIGINT)
    said += run.stderr.read()
    assert run.wait(timeout=120) == 130, said
    assert "starting a local Ray cluster (" in said and "interrupted" in said
    with Library.open(db) as lib:
        written = lib.catalog.count()
    assert 0 < written < 200
    code, out, err = run_cli(capsys, "index", str(photos), "--db", str(db), "--ray", "--json", *TINY)
    assert code == 0, err
    assert json.loads(out) == {"added": 200 - written, "updated": 0, "unchanged": written, "removed": 0, "skipped": 0}
    with Library.open(db) as lib:
        consistent(lib, photos)
