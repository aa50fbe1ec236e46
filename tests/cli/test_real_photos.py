"""The offline real model on real photographs, through the CLI as a user runs it (issue #17, "Evidence on real
photos"): scikit-image's sample photos, indexed with imagenet-minilm, are found by plain-language queries, and the
cat photo is described as a cat. bench/real_photos.py measures the same on a larger labelled set."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

skimage = pytest.importorskip("skimage")

from conftest import run_cli  # noqa: E402
from xmr_gui.cli import main  # noqa: E402


def _research() -> ModuleType:
    """bench/offline_model.py, where the sample-photo pool and the required queries are defined once."""
    path = Path(__file__).resolve().parents[2] / "bench" / "offline_model.py"
    spec = importlib.util.spec_from_file_location("offline_model", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


RESEARCH = _research()
POOL: list[str] = RESEARCH.SKIMAGE_POOL  # the sample images that are photographs or photo-like

pytestmark = pytest.mark.slow

MODEL = ["--model", "imagenet-minilm", "--weights", "lite0", "--precision", "fp32"]
# the four queries and the photo each must find in its top 3
QUERIES = {"a cat": "chelsea.png", "a cup of coffee": "coffee.png", "a rocket": "rocket.jpg", "a camera": "camera.png"}
CAT_LIKE = {"cat", "kitten", "tabby", "tabby cat", "tiger cat", "egyptian cat", "egyptian mau", "feline", "pet"}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    return out


@pytest.fixture(scope="module")
def sample_library(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> tuple[Path, Path]:
    """scikit-image's sample photos copied from the installed package (no download), indexed once by `xmr index`
    with the offline model (the ONNX export is made once per test session in the shared cache)."""
    data = Path(skimage.data.data_dir)
    missing = [name for name in QUERIES.values() if not (data / name).is_file()]
    if missing:
        pytest.skip(f"this scikit-image ships without {', '.join(missing)}")
    photos = tmp_path_factory.mktemp("skimage-photos")
    for name in POOL:
        if (data / name).is_file():
            shutil.copyfile(data / name, photos / name)
    db = tmp_path_factory.mktemp("skimage-db") / "db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XMR_HOME", str(tmp_path_factory.mktemp("xmr-home")))
        mp.setenv("XMR_CACHE_DIR", str(shared_cache))
        assert main(["index", str(photos), "--db", str(db), *MODEL, "-q", "--json"]) == 0
    return photos, db


@pytest.mark.parametrize("query", list(QUERIES))
def test_plain_queries_find_their_photo_in_the_top_3(sample_library, capsys, query):
    photos, db = sample_library
    out = run(capsys, "search", query, "--db", str(db), "-k", "3", "--json")
    top = [Path(json.loads(line)["path"]).name for line in out.splitlines()]
    assert len(top) == 3
    assert QUERIES[query] in top, f"{query!r}: top 3 = {top}"


def test_describe_calls_the_cat_photo_a_cat(sample_library, capsys):
    photos, db = sample_library
    out = run(capsys, "describe", str(photos / "chelsea.png"), "--db", str(db), "-k", "5", "--json")
    labels = [json.loads(line)["label"] for line in out.splitlines()]
    assert len(labels) == 5
    assert any(label.lower() in CAT_LIKE or "cat" in label.lower().split() for label in labels), labels
