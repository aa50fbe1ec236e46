"""Which model a folder gets (core.models.decide), the offline model as the default on a fresh offline machine, and
the hint for a query outside what a model knows. Real models: the offline model's real ONNX towers, the shipped
demo checkpoint, a hub cache laid out as huggingface_hub lays it out."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from xmr_gui.cli import main
from xmr_gui.core import models
from xmr_gui.core.base import paths
from xmr_gui.core.runtime import hub
from xmr_gui.core.runtime.spec import ModelSpec

OFFLINE = ModelSpec.parse("imagenet-minilm", "lite0")


@pytest.fixture
def empty_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh machine: nothing in the model hub's cache, and no network to ask."""
    home = tmp_path / "hf"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return home


def _cache_clip(model: str, tag: str) -> Path:
    """Put (model, tag)'s weights file where huggingface_hub keeps it (refs/main → snapshots/COMMIT/FILE)."""
    src = hub.source(model, tag)
    assert src is not None
    repo = hub.cache_dir() / ("models--" + src.repo.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / src.revision).write_text("0" * 40)
    weights = repo / "snapshots" / ("0" * 40) / src.files[0]
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"weights")
    return weights


def _demo_world(root: Path) -> Path:
    from xmr_gui.core.demo.world import write_demo

    return write_demo(root / "world", size=4) / "images"


def test_a_fresh_offline_machine_gets_the_offline_model_and_is_told_how_to_do_better(tmp_path, empty_hub):
    folder = tmp_path / "photos"
    folder.mkdir()
    d = models.decide(folder)
    assert d.spec == OFFLINE and d.checkpoint is None and d.warning is None
    assert "imagenet-minilm" in d.line and "ImageNet" in d.line
    model, tag, mb = models.recommended_clip()
    assert d.hint is not None and f"--model {model} --weights {tag}" in d.hint and f"{mb}" in d.hint


def test_a_cached_clip_model_wins_over_the_offline_model(tmp_path, empty_hub):
    folder = tmp_path / "photos"
    folder.mkdir()
    model, tag, _ = models.recommended_clip()
    _cache_clip(model, tag)
    d = models.decide(folder)
    assert (d.spec.model, d.spec.weights) == (model, tag) and "local model cache" in d.line and d.hint is None


def test_explicit_choice_then_the_librarys_model_then_the_demo_world(tmp_path, empty_hub):
    folder = tmp_path / "photos"
    folder.mkdir()
    Wish = models.ModelWish
    tiny = ModelSpec.parse("xmr-tiny", "random")
    assert models.decide(folder, Wish.from_words("xmr-tiny", "random")).spec == tiny
    assert models.decide(folder, Wish.from_words("imagenet-minilm")).spec == OFFLINE  # the variant defaults to lite0
    assert models.decide(folder, Wish(spec=tiny)).spec == tiny
    # a library indexed before keeps its model (switching would re-encode every photo), int8 or not
    stored = models.decide(folder, stored=models.Stored(tiny.with_precision("int8")))
    assert stored.spec == tiny and "as indexed before" in stored.line
    assert (
        models.decide(folder, Wish.from_words("imagenet-minilm"), models.Stored(tiny)).spec == OFFLINE
    )  # explicit beats stored
    with pytest.raises(Exception, match="needs --weights"):
        Wish.from_words("xmr-small")

    demo = paths.shipped_demo_checkpoint()
    if demo is None:
        pytest.skip("no shipped demo checkpoint in this install")
    world = _demo_world(tmp_path)
    assert models.decide(world).checkpoint == demo
    # the demo model on a folder of real photos: allowed when chosen, with a warning; never chosen by itself
    on_photos = models.decide(folder, Wish(checkpoint=demo))
    assert on_photos.checkpoint == demo and on_photos.warning and "24" in on_photos.warning
    assert models.decide(world, Wish(checkpoint=demo)).warning is None


def test_the_model_menu_offers_what_is_available_each_with_what_it_knows(tmp_path, empty_hub):
    model, tag, mb = models.recommended_clip()
    offers = models.offers([tmp_path / "mine.xmr"])
    by_title = {o.title: o for o in offers}
    assert offers[0].automatic
    assert any(o.spec == OFFLINE and "ImageNet" in o.knows for o in offers)
    clip = next(o for o in offers if o.spec is not None and (o.spec.model, o.spec.weights) == (model, tag))
    assert not clip.cached and clip.download_mb == mb and f"{mb} MB" in clip.title
    assert any(t.startswith("Checkpoint mine.xmr") for t in by_title)
    if paths.shipped_demo_checkpoint() is not None:
        assert any(o.checkpoint == paths.shipped_demo_checkpoint() and "24" in o.knows for o in offers)
    _cache_clip(model, tag)
    assert next(o for o in models.offers() if o.spec is not None and o.spec.model == model).cached


@pytest.fixture
def offline_library(tmp_path: Path, empty_hub, capsys) -> Path:
    """A few real photos (scikit-image's) indexed the way a new user would: `xmr index FOLDER`, nothing else."""
    skimage = pytest.importorskip("skimage")
    data = Path(skimage.__file__).parent / "data"
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("chelsea.png", "coffee.png", "rocket.jpg", "camera.png"):
        shutil.copy(data / name, folder / name)
    assert main(["index", str(folder), "--db", str(tmp_path / "db"), "-q"]) == 0
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if line.startswith("xmr: model:")]
    assert len(said) == 1 and "imagenet-minilm" in said[0] and "--model ViT-B-32" in said[0], err
    return tmp_path / "db"


@pytest.mark.slow
def test_queries_outside_what_the_model_knows_get_a_note_naming_the_nearest_concepts(offline_library, capsys):
    assert main(["search", "a cat", "--db", str(offline_library), "-k", "1"]) == 0
    out, err = capsys.readouterr()
    assert out.strip().endswith("chelsea.png") and "answered by imagenet-minilm (lite0)" in err and "note:" not in err
    assert main(["search", "tax form", "--db", str(offline_library), "-k", "1"]) == 0
    err = capsys.readouterr().err
    note = next(line for line in err.splitlines() if "note:" in line)
    assert "far from everything this model knows" in note and "nearest:" in note and "ImageNet" in note


@pytest.mark.slow
def test_a_demo_checkpoint_query_outside_its_24_labels_gets_the_note(tmp_path, capsys):
    if paths.shipped_demo_checkpoint() is None:
        pytest.skip("no shipped demo checkpoint in this install")
    world = _demo_world(tmp_path)
    assert main(["index", str(world), "--db", str(tmp_path / "db"), "-q"]) == 0
    assert "demo world's checkpoint" in capsys.readouterr().err
    for query, outside in (("a guitar", True), ("a dog on the grass", False)):
        assert main(["search", query, "--db", str(tmp_path / "db"), "-k", "1"]) == 0
        err = capsys.readouterr().err
        assert ("24 labels it was trained on" in err) == outside, (query, err)
