"""The packaged desktop app: packaging/xmr.spec built with PyInstaller and the binary run as a user would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("PyInstaller", reason="PyInstaller is in the test extra; install '.[test]' to build the app")
    out = tmp_path_factory.mktemp("pyinstaller")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(out / "dist"),
            "--workpath",
            str(out / "build"),
            str(ROOT / "packaging" / "xmr.spec"),
        ],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    binary = out / "dist" / "xmr" / "xmr"
    assert binary.is_file() and os.access(binary, os.X_OK)
    return binary


def _run(binary: Path, *args: str, home: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XMR_")}
    # A fresh home and cache: the app must work from what it carries, not from exports this test run made.
    env.update(XMR_HOME=str(home), XMR_CACHE_DIR=str(home / "cache"), QT_QPA_PLATFORM="offscreen")
    return subprocess.run([str(binary), *args], capture_output=True, text=True, env=env, timeout=timeout)


def test_built_app_prints_its_version(app, tmp_path):
    from xmr_gui import __version__

    done = _run(app, "--version", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"xmr {__version__}"


def test_built_app_passes_its_self_test_offscreen(app, tmp_path):
    done = _run(app, "--self-test", home=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    score, path = done.stdout.strip().splitlines()[-1].split("\t")
    assert -1.0 <= float(score) <= 1.0 and Path(path).is_file() and Path(path).is_relative_to(tmp_path)


def test_built_app_is_torch_free_and_says_what_it_cannot_do(app, tmp_path):
    internal = app.parent / "_internal"
    assert not [p.name for p in internal.iterdir() if p.name in ("torch", "open_clip", "torchvision", "scipy")]
    done = _run(app, "train", str(tmp_path), "--out", str(tmp_path / "m.xmr"), home=tmp_path)
    assert done.returncode == 1 and "pipx install" in done.stderr and "Traceback" not in done.stderr
    (tmp_path / "p").mkdir()
    done = _run(
        app,
        "index",
        str(tmp_path / "p"),
        "--db",
        str(tmp_path / "db"),
        "--model",
        "ViT-B-32",
        "--weights",
        "random",
        home=tmp_path,
    )
    assert done.returncode == 1 and "no torch" in done.stderr and "Traceback" not in done.stderr


def test_built_app_searches_real_photos_with_the_offline_model_it_carries(app, tmp_path):
    """No --model, no torch, no network: the app indexes real photos with the bundled imagenet-minilm export."""
    skimage = pytest.importorskip("skimage")
    import shutil

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("chelsea.png", "coffee.png", "rocket.jpg", "camera.png"):
        shutil.copy(Path(skimage.__file__).parent / "data" / name, photos / name)
    done = _run(app, "index", str(photos), "--db", str(tmp_path / "db"), "-q", home=tmp_path)
    assert done.returncode == 0 and "imagenet-minilm" in done.stderr, done.stderr[-3000:]
    done = _run(app, "search", "a cup of coffee", "--db", str(tmp_path / "db"), "-k", "1", home=tmp_path)
    assert done.returncode == 0 and done.stdout.strip().endswith("coffee.png"), done.stderr[-3000:]


def test_wheel_carries_commands_data_and_the_demo_checkpoint(tmp_path):
    """What `pipx install .` installs: both commands, package data, and the demo checkpoint + desktop files."""
    import zipfile

    # from a copy of the sources, as tests/project/test_wheel.py: an in-tree build leaves build/ and xmr.egg-info in
    # the checkout, which a later wheel (and a suite run with PYTHONPATH=<checkout>) would pick up
    source = tmp_path / "src"
    ignore = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "bench", "tests")
    shutil.copytree(ROOT, source, ignore=ignore)
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(tmp_path.glob("xmr-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "xmr = xmr_gui.cli:main" in entry and "xmr-gui = xmr_gui.qt.app:main" in entry
    for needed in (
        "xmr_gui/configs/demo.json",
        "xmr_gui/data/vocabulary.txt",
        "data/share/xmr/models/xmr-demo.xmr",
        "data/share/applications/xmr.desktop",
        "data/share/icons/hicolor/scalable/apps/xmr.svg",
    ):
        assert any(n.endswith(needed) for n in names), needed
    assert not any("/tests/" in n or n.startswith("tests/") for n in names)
