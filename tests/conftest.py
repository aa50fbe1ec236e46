"""Shared fixtures: every test gets its own data dir; a tiny real open_clip model with random weights."""

from __future__ import annotations

import csv
import os
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from loopback_hub import hub, server  # noqa: E402,F401 - the loopback model hub's fixtures, for every test

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the run: ONNX exports and label vectors are keyed by content, so tests can share them."""
    return tmp_path_factory.mktemp("xmr-cache")


@pytest.fixture(autouse=True)
def xmr_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, shared_cache: Path) -> Path:
    home = tmp_path_factory.mktemp("xmr-home")
    monkeypatch.setenv("XMR_HOME", str(home))
    monkeypatch.setenv("XMR_CACHE_DIR", str(shared_cache))
    return home


@pytest.fixture(scope="session")
def tiny_spec():
    from xmr_gui.core.runtime.spec import ModelSpec

    return ModelSpec.parse("xmr-tiny", "random")


@pytest.fixture(scope="session")
def tiny_encoder(tiny_spec):
    from xmr_gui.core.runtime.factory import load_encoder

    return load_encoder(tiny_spec, "cpu")


def write_linear_checkpoint(path: Path, spec, d: int, labels: list[str], seed: int = 0, k: int = 8) -> dict:
    """A checkpoint on backbone `spec` with one random linear layer per head (d → k) and random classifiers;
    returns its tensors so a test can compute what the checkpoint's space must give."""
    from xmr_gui.core.learn.checkpoint import save_checkpoint

    rng = np.random.default_rng(seed)
    tensors = {
        "img_head.0.weight": rng.standard_normal((k, d)).astype(np.float32),
        "img_head.0.bias": np.zeros(k, np.float32),
        "txt_head.0.weight": rng.standard_normal((k, d)).astype(np.float32),
        "txt_head.0.bias": np.zeros(k, np.float32),
        "classifiers": rng.standard_normal((len(labels), k)).astype(np.float32),
    }
    card = {
        "labels": labels,
        "dims": {"dim": k, "d_img": d, "d_txt": d},
        "backbone": {"model": spec.model, "weights": spec.weights, "identity": spec.identity()},
    }
    if spec.config_json:  # xmr's own architectures travel with the checkpoint, as `xmr train` writes them
        card["backbone"]["config_json"] = spec.config_json
    save_checkpoint(path, tensors, card)
    return tensors


def write_photos(folder: Path, n: int, seed: int = 0, size: tuple[int, int] = (96, 72)) -> list[Path]:
    """n distinct random-ish JPEGs (gradients + blocks), deterministic."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        w, h = size
        base = rng.integers(0, 255, 3)
        yy, xx = np.mgrid[0:h, 0:w]
        arr = np.stack([(base[c] + xx * (c + 1) + yy * (3 - c)) % 256 for c in range(3)], -1).astype(np.uint8)
        x0, y0 = int(rng.integers(0, w // 2)), int(rng.integers(0, h // 2))
        arr[y0 : y0 + h // 3, x0 : x0 + w // 3] = rng.integers(0, 255, 3)
        path = folder / f"photo_{i:04d}.jpg"
        Image.fromarray(arr).save(path, quality=90)
        out.append(path)
    return out


def photo_cluster(folder: Path, name: str, seed: int, n: int) -> list[Path]:
    """n near-copies of one picture (a little noise each), so the model puts them next to each other."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (12, 16, 3)).astype(np.float32)
    out = []
    for i in range(n):
        img = np.kron(base, np.ones((6, 6, 1))) + rng.normal(0, 3, (72, 96, 3))
        path = folder / f"{name}{i}.jpg"
        Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(path, quality=92)
        out.append(path)
    return out


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    write_photos(folder, 24)
    return folder


@pytest.fixture
def library(tmp_path: Path, photos: Path, tiny_spec, tiny_encoder):
    from xmr_gui.core.store.library import Library

    lib = Library.create(tmp_path / "db", photos, tiny_spec)
    lib.use_encoder(tiny_encoder)
    yield lib
    lib.close()


def shuffled(seq, seed=0):
    seq = list(seq)
    random.Random(seed).shuffle(seq)
    return seq


@pytest.fixture
def window_maker(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """make(choice) → a real MainWindow on a Session with that ModelChoice, shown offscreen, its settings in
    tmp_path; every window's background work is waited for and its session closed afterwards."""
    from PySide6.QtCore import QSettings, QThreadPool

    from xmr_gui.core.session import Session
    from xmr_gui.qt.main_window import MainWindow

    monkeypatch.setenv("XMR_GUI_NO_DIALOGS", "1")
    made = []

    def make(choice):
        session = Session(choice)
        window = MainWindow(session, QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        qtbot.addWidget(window)
        window.show()
        made.append((window, session))
        return window

    yield make
    QThreadPool.globalInstance().waitForDone()
    for window, session in made:
        window.thumbs.wait()
        session.close()


def indexed_demo_world(root: Path, size: int, seed: int):
    """A demo world of `size` drawn photos indexed with the shipped checkpoint: (library, {path: labels})."""
    import json

    from xmr_gui.core.base.paths import shipped_demo_checkpoint
    from xmr_gui.core.demo.world import write_demo
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.learn.checkpoint import Checkpoint
    from xmr_gui.core.store.library import Library

    world = write_demo(root / "w", size, seed=seed)
    rows = {
        str(world / r["file"]): r["labels"] for r in map(json.loads, (world / "labels.jsonl").read_text().splitlines())
    }
    lib = Library.create(root / "db", world / "images", Checkpoint.load(shipped_demo_checkpoint()).backbone_spec())
    lib.attach_checkpoint(shipped_demo_checkpoint())
    index_folder(lib, world / "images")
    return lib, rows


@pytest.fixture
def demo_world_window(qtbot, tmp_path: Path, window_maker):
    """open(size, seed) → a window on a fresh demo world indexed with the shipped checkpoint: (window, world)."""
    from xmr_gui.core.base.paths import shipped_demo_checkpoint
    from xmr_gui.core.demo.world import write_demo
    from xmr_gui.core.session import ModelChoice

    if shipped_demo_checkpoint() is None:
        pytest.skip("models/xmr-demo.xmr is not in this checkout")

    def open_world(size: int, seed: int):
        world = write_demo(tmp_path / "world", size, seed=seed)
        window = window_maker(ModelChoice(shipped_demo_checkpoint(), None, "cpu", 16))
        window.resize(1280, 800)
        with qtbot.waitSignal(window.indexing_done, timeout=180_000):
            window.open_folder(str(world / "images"))
        return window, world

    return open_world


def exif_photo(
    path: Path,
    seed: int,
    taken: str | None = None,
    camera: tuple[str, str] | None = None,
    offset: str | None = None,
    gps: tuple[float, float] | None = None,
    size=(64, 48),
) -> Path:
    """A random photo with real EXIF: DateTimeOriginal (`YYYY:MM:DD HH:MM:SS`) and its offset, Make/Model, GPS."""
    rng = np.random.default_rng(seed)
    im = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    exif = Image.Exif()
    if camera:
        exif[271], exif[272] = camera
    inner = exif.get_ifd(0x8769)
    if taken:
        inner[36867] = taken
    if offset:
        inner[36881] = offset
    if gps:
        g = exif.get_ifd(0x8825)
        g[1], g[2] = ("N" if gps[0] >= 0 else "S"), (abs(gps[0]), 0.0, 0.0)
        g[3], g[4] = ("E" if gps[1] >= 0 else "W"), (abs(gps[1]), 0.0, 0.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, exif=exif)
    return path


def run_cli(capsys, *argv):
    """`xmr ARGV` in this process: (exit code, stdout, stderr)."""
    from xmr_gui.cli import main

    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def open_and_index(qtbot, window, folder):
    """Open `folder` in a real window and wait until it is indexed; the IndexReport."""
    with qtbot.waitSignal(window.indexing_done, timeout=180_000) as done:
        window.open_folder(str(folder))
    return done.args[0]


def unit(x: np.ndarray) -> np.ndarray:
    """Rows (or a vector) scaled to unit length."""
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def small_photo(path: Path, seed: int | None = None, **save) -> Path:
    """A small JPEG at `path` (folders made): random pixels for a seed, else one flat colour."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if seed is None:
        Image.new("RGB", (16, 12), (200, 120, 40)).save(path, quality=90, **save)
    else:
        rng = np.random.default_rng(seed)
        Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(path, quality=85, **save)
    return path


def read_map_csv(path) -> list[tuple[str, str, str, float, float, str]]:
    """The rows of a map CSV (`xmr map --csv`, the map's "Export selection"), after its header; the last field is
    the photo's cluster name ("" for labels and queries)."""
    from xmr_gui.core.views.embedding_map import CSV_HEADER

    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        assert tuple(next(rows)) == CSV_HEADER
        return [(k, ref, labels, float(x), float(y), cluster) for k, ref, labels, x, y, cluster in rows]


def synthetic_features(n=160, labels=6, d=24, seed=0):
    """A dataset whose image and caption vectors are noisy sums of per-label directions (no files are read)."""
    from xmr_gui.core.learn.dataset import Dataset, Features, Row

    rng = np.random.default_rng(seed)
    names = [f"l{c}" for c in range(labels)]
    directions = rng.standard_normal((labels, d)).astype(np.float32)
    rows, Y = [], np.zeros((n, labels), np.float32)
    for i in range(n):
        chosen = rng.choice(labels, size=rng.integers(1, 3), replace=False)
        Y[i, chosen] = 1
        split = "train" if i < 0.6 * n else "val" if i < 0.8 * n else "test"
        rows.append(Row(f"p{i}.jpg", [names[c] for c in sorted(chosen)], "", split))
    ds = Dataset.from_rows("/nonexistent", rows, f"synthetic-{seed}")

    img = unit(Y @ directions + 0.8 * rng.standard_normal((n, d)))
    txt = unit(Y @ directions + 0.8 * rng.standard_normal((n, d)))
    feats = Features(img, txt, unit(directions), unit(rng.standard_normal((n, 8))), np.ones(n, bool))
    return ds, feats
