"""The CUDA path (torch + fp16 autocast): run wherever a GPU exists; skipped, with the reason, where none does."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine (the CPU path is tested everywhere else)")
    return torch


def test_auto_device_picks_cuda_and_agrees_with_cpu(cuda, tiny_spec):
    from xmr_gui.core.runtime.factory import load_encoder, resolve_device

    assert resolve_device("auto") == "cuda"
    gpu = load_encoder(tiny_spec.with_precision("fp32"), "cuda")
    cpu = load_encoder(tiny_spec.with_precision("fp32"), "cpu", runtime="torch")
    assert gpu.device == "cuda"
    pixels = np.random.default_rng(0).integers(0, 255, (8, gpu.image_size, gpu.image_size, 3), dtype=np.uint8)
    cos = np.sum(gpu.encode_images(pixels) * cpu.encode_images(pixels), 1)
    assert (cos >= 0.99).all(), cos  # fp16 autocast vs fp32
    texts = ["a dog on a beach", "a red car"]
    assert (np.sum(gpu.encode_texts(texts) * cpu.encode_texts(texts), 1) >= 0.99).all()


def test_indexing_on_cuda_finds_the_same_photos(cuda, tiny_spec, photos, tmp_path):
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.runtime.factory import load_encoder
    from xmr_gui.core.search.photos import search_text
    from xmr_gui.core.store.library import Library

    tops = []
    for device, runtime in (("cuda", "torch"), ("cpu", "torch")):
        spec = tiny_spec.with_precision("fp32")
        with Library.create(tmp_path / device, photos, spec) as lib:
            lib.use_encoder(load_encoder(spec, device, runtime=runtime))
            assert index_folder(lib, photos).counts()["added"] == 24
            tops.append([h.path for h in search_text(lib, "a blue square", k=5)])
    assert len(set(tops[0]) & set(tops[1])) >= 4
