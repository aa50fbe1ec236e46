"""The fast path (ONNX Runtime, torch-free) agrees with torch, stays torch-free, and rebuilds a bad cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from xmr_gui.core.runtime.spec import ModelSpec


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    import os

    os.environ["XMR_HOME"] = str(tmp_path_factory.mktemp("onnx-home"))
    from xmr_gui.core.runtime.clip_onnx import OnnxClipEncoder
    from xmr_gui.core.runtime.clip_torch import TorchClipEncoder

    spec = ModelSpec.parse("xmr-tiny", "random")
    return spec, OnnxClipEncoder(spec), TorchClipEncoder(spec)


def test_tokenizer_matches_open_clip():
    import open_clip

    from xmr_gui.core.runtime.tokenizer import ClipTokenizer

    texts = [
        "a dog on the beach",
        "Ünïcödé &amp; <b>html</b> 🐶",
        "",
        "   ",
        "word " * 200,
        "שלום",
        "a\x00b\tc",
        "it's 12,345 o'clock!!",
    ]
    assert np.array_equal(open_clip.get_tokenizer("ViT-B-32")(texts).numpy(), ClipTokenizer(77)(texts))


def test_vectors_agree_with_torch(both):
    _, fast, ref = both
    pixels = np.random.default_rng(0).integers(0, 255, (7, fast.image_size, fast.image_size, 3), dtype=np.uint8)
    assert (np.sum(fast.encode_images(pixels) * ref.encode_images(pixels), 1) >= 0.999).all()
    texts = ["a red car", "snow", "", "a city at night with the moon"]
    assert (np.sum(fast.encode_texts(texts) * ref.encode_texts(texts), 1) >= 0.999).all()
    assert fast.identity == ref.identity


def test_same_top10_on_the_demo_world(both, tmp_path):
    from xmr_gui.core.demo.world import write_demo
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.search.photos import search_text
    from xmr_gui.core.store.library import Library

    spec, fast, ref = both
    world = write_demo(tmp_path / "w", 80, seed=2)
    tops = []
    for name, enc in (("fast", fast), ("ref", ref)):
        with Library.create(tmp_path / name, world / "images", spec) as lib:
            lib.use_encoder(enc)
            index_folder(lib, world / "images")
            tops.append({h.path for h in search_text(lib, "a beach with a boat", k=10)})
    assert tops[0] == tops[1]


def test_search_never_imports_torch_once_exported(tmp_path):
    from xmr_gui.core.demo.world import write_demo

    world = write_demo(tmp_path / "w", 20)
    env_home = tmp_path / "home"
    code = (
        "import sys, json\nfrom xmr_gui.cli import main\n"
        f"main(['index', {str(world / 'images')!r}, '--db', {str(tmp_path / 'db')!r}, '--model', 'xmr-tiny', "
        "'--weights', 'random', '-q'])\n"
        f"main(['search', 'a dog', '--db', {str(tmp_path / 'db')!r}, '-k', '3'])\n"
        f"main(['describe', {str(world / 'images' / 'demo_00001.jpg')!r}, '--db', {str(tmp_path / 'db')!r}])\n"
        "print(json.dumps(sorted(m for m in ('torch', 'open_clip') if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**__import__("os").environ, "XMR_HOME": str(env_home)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout.splitlines()[-1]) == []  # the export ran in its own process


def test_stale_or_truncated_export_is_rebuilt(both):
    from xmr_gui.core.runtime.clip_onnx import _valid, ensure_export, export_dir

    spec = both[0]
    folder = ensure_export(spec)
    assert folder == export_dir(spec.identity()) and _valid(folder, spec.identity(), deep=True)
    for name in ("visual.onnx", "text.onnx.data"):  # the graph, or the memory-mapped weights beside it
        damaged = folder / name
        cut = damaged.with_name(damaged.name + ".cut")
        cut.write_bytes(damaged.read_bytes()[:1000])
        os.replace(cut, damaged)  # truncated (a new file: a session elsewhere may still map the old one)
        assert not _valid(folder, spec.identity())
        assert ensure_export(spec) == folder and _valid(folder, spec.identity())
    other = ModelSpec.parse("xmr-small", "random")
    assert not _valid(folder, other.identity())  # another model never reuses this export


def test_int8_image_tower_agrees_and_keeps_the_top10(tmp_path, both):
    """Whatever this CPU is (VNNI or not), the int8 recipe the check keeps agrees with fp32."""
    from xmr_gui.core.demo.world import write_demo
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.runtime.clip_onnx import OnnxClipEncoder
    from xmr_gui.core.runtime.prepare import prepare_model
    from xmr_gui.core.search.photos import search_text
    from xmr_gui.core.store.library import Library

    spec, fast, ref = both
    auto = prepare_model(spec, "auto", "cpu")
    prepared = prepare_model(spec, "int8", "cpu")  # the recipe the check kept, served whether or not it is faster
    if not prepared.int8_check["passed"]:  # no recipe agreed here: the check said so, and auto runs fp32
        assert auto.spec.precision == "fp32" and "no int8 recipe agrees" in auto.reason, auto.reason
        pytest.skip(f"no int8 recipe agrees with fp32 on this CPU: {prepared.reason}")
    assert prepared.spec.precision == "int8" and prepared.int8_check["recipe"]
    int8 = OnnxClipEncoder(prepared.spec)
    assert int8.identity == spec.identity() + "+int8"  # its vectors never mix with fp32 ones in a library
    pixels = np.random.default_rng(1).integers(0, 255, (16, int8.image_size, int8.image_size, 3), dtype=np.uint8)
    assert (np.sum(int8.encode_images(pixels) * ref.encode_images(pixels), 1) >= 0.999).all()
    world = write_demo(tmp_path / "w", 80, seed=2)
    tops, scores = [], {}
    for name, s, enc in (("int8", prepared.spec, int8), ("ref", spec, ref)):
        with Library.create(tmp_path / name, world / "images", s) as lib:
            lib.use_encoder(enc)
            index_folder(lib, world / "images")
            tops.append({h.path for h in search_text(lib, "a beach with a boat", k=10)})
            if name == "ref":
                scores = {h.path: h.score for h in search_text(lib, "a beach with a boat", k=80)}
    # The same set, except that a photo may trade places with one the fp32 scores call a near-tie of the 10th:
    # int8 moves a score by ~1e-3 (cosine >= 0.999 above), and this random-weight model has scores 1e-3 apart.
    tenth = sorted(scores.values(), reverse=True)[9]
    swapped = tops[0] ^ tops[1]
    assert len(swapped) <= 2 and all(abs(scores[p] - tenth) < 2e-3 for p in swapped), [
        (p, scores[p] - tenth) for p in swapped
    ]


def test_a_checkpoint_rewritten_in_place_never_reuses_stale_caches(library, photos, tiny_spec, tmp_path):
    """Retraining into the same file must not serve the old space's index or label vectors."""
    from conftest import write_linear_checkpoint
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.search.labels import PROMPT, describe
    from xmr_gui.core.search.photos import search_text

    index_folder(library, photos)
    d = library.dim
    paths = sorted(str(p) for p in photos.iterdir())
    raw = library.catalog.vectors_for([library.catalog.id_for_path(p) for p in paths], d)
    labels = ["dog", "beach", "car"]
    raw_labels = library.encoder.encode_texts([PROMPT.format(x) for x in labels])
    query = "an animal playing outside"  # names none of the labels: searched by its text vector alone
    raw_query = library.encoder.encode_texts([query])
    ckpt = tmp_path / "model.xmr"

    def unit(x):
        return x / np.linalg.norm(x, axis=-1, keepdims=True)

    seen = []
    for seed in (1, 2):
        t = write_linear_checkpoint(ckpt, tiny_spec, d, labels, seed=seed)
        library.attach_checkpoint(ckpt)
        images = unit(raw @ t["img_head.0.weight"].T)
        expected_hits = [paths[i] for i in np.argsort(-(images @ unit(raw_query @ t["txt_head.0.weight"].T)[0]))[:5]]
        assert [h.path for h in search_text(library, query, k=5)] == expected_hits
        scores = unit(raw_labels @ t["txt_head.0.weight"].T) @ images[0]
        got = describe(library, paths[0], labels=labels, k=3)
        assert [r.label for r in got] == [labels[i] for i in np.argsort(-scores)]
        assert np.allclose([r.score for r in got], np.sort(scores)[::-1], atol=1e-4)
        seen.append(expected_hits)
    assert seen[0] != seen[1]  # the two checkpoints really rank differently, so a stale cache would show


def test_the_runtime_is_read_in_one_place(monkeypatch):
    from xmr_gui.core.runtime.spec import ModelError, Runtime

    monkeypatch.delenv("XMR_RUNTIME", raising=False)
    assert Runtime.chosen() is Runtime.AUTO and Runtime.chosen("torch") is Runtime.TORCH
    monkeypatch.setenv("XMR_RUNTIME", "onnx")
    assert Runtime.chosen() is Runtime.ONNX
    monkeypatch.setenv("XMR_RUNTIME", "tensorflow")
    with pytest.raises(ModelError, match="unknown runtime 'tensorflow': use auto, onnx or torch"):
        Runtime.chosen()
