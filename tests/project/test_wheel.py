"""The built wheel installed as pip / pipx would (not editable), run from outside the repo: it must carry its data.

The wheel goes into a fresh venv with --no-deps; the dependencies come from this interpreter's site-packages,
added by a .pth path line (a path line does not run that directory's own .pth files, so the repo's editable
install stays invisible there). The data files the code reads have to come from the wheel itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_packaged_icon_matches_the_icon_set():
    """xmr_gui/data/xmr-256.png (the window icon, package data) is a copy of assets/icons/xmr-256.png."""
    packaged = ROOT / "xmr_gui" / "data" / "xmr-256.png"
    assert packaged.read_bytes() == (ROOT / "assets" / "icons" / "xmr-256.png").read_bytes()


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the built wheel (plus this interpreter's dependencies on its path)."""
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy of the tracked sources: an in-tree build would leave build/ in the checkout, and a stale
    # build/lib (modules since moved or deleted) would be packaged into every later wheel.
    source = out / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "bench", "tests"),
    )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next(out.glob("xmr-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("xmr_gui/data/mirflickr25k_cooccurrence.json", "xmr_gui/data/xmr-256.png"):
        assert needed in names, needed
    assert "xmr_gui/cli.py" not in names and "xmr_gui/core/int8.py" not in names  # nothing stale

    env_dir = out / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--disable-pip-version-check",
            str(wheel),
        ],
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "_xmr_test_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n", encoding="utf-8")
    return env_dir


def _run(venv: Path, *args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XMR_", "PYTHON"))}
    env.update(XMR_HOME=str(cwd / "home"), XMR_CACHE_DIR=str(cwd / "home" / "cache"), QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(
        [str(venv / "bin" / args[0]), *args[1:]], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout
    )
    assert done.returncode == 0, f"{args}: {done.stderr[-3000:]}"
    return done


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    assert not tmp_path.resolve().is_relative_to(ROOT)
    return tmp_path


@pytest.mark.slow
def test_installed_wheel_runs_from_outside_the_repo(venv, outside):
    from xmr_gui import __version__

    probe = _run(
        venv,
        "python",
        "-c",
        "import xmr_gui\n"
        "from importlib import resources\n"
        "from xmr_gui.core.base import paths\n"
        "print(xmr_gui.__file__)\n"
        "print(paths.shipped_demo_checkpoint())\n"
        "print(resources.files('xmr_gui').joinpath('data/xmr-256.png').read_bytes()[:8].hex())\n",
        cwd=outside,
    )
    module, checkpoint, icon = probe.stdout.strip().splitlines()
    assert Path(module).is_relative_to(venv) and not Path(module).resolve().is_relative_to(ROOT)
    assert Path(checkpoint).resolve() == (venv / "share" / "xmr" / "models" / "xmr-demo.xmr").resolve()
    assert bytes.fromhex(icon) == PNG_MAGIC

    assert _run(venv, "xmr", "--version", cwd=outside).stdout.strip() == f"xmr {__version__}"

    png = outside / "graph.png"
    edges = _run(venv, "xmr", "graph", "--example", "mirflickr", "--png", str(png), cwd=outside)
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert len(edges.stdout.splitlines()) > 0

    # the shipped demo checkpoint found above loads and draws from the installed wheel too
    _run(venv, "xmr", "graph", "--checkpoint", checkpoint, "--png", str(outside / "ckpt.png"), cwd=outside)
    assert (outside / "ckpt.png").read_bytes()[:8] == PNG_MAGIC

    demo = outside / "demo"
    _run(venv, "xmr", "demo", "--out", str(demo), "--size", "20", cwd=outside)
    assert len(list((demo / "images").glob("demo_*.jpg"))) == 20
    assert len((demo / "labels.jsonl").read_text(encoding="utf-8").splitlines()) == 20
