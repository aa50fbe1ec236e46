"""Real pretrained CLIP weights, when ../shared/models provides them (it does not on the build machines)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import SHARED

WEIGHTS = sorted((SHARED / "models").glob("*.safetensors")) if (SHARED / "models").is_dir() else []

pytestmark = [
    pytest.mark.pretrained,
    pytest.mark.skipif(
        not WEIGHTS,
        reason="no pretrained CLIP weights in ../shared/models (see its README: none are available offline here)",
    ),
]


@pytest.mark.parametrize("weights", WEIGHTS, ids=lambda p: Path(p).name)
def test_pretrained_weights_rank_a_matching_caption_first(weights):
    import numpy as np
    from PIL import Image

    from xmr_gui.core.runtime.factory import load_encoder
    from xmr_gui.core.runtime.images import square_pixels
    from xmr_gui.core.runtime.spec import ModelSpec

    model = Path(weights).stem.split("__")[0]  # files are named MODEL__TAG.safetensors
    enc = load_encoder(ModelSpec.parse(model, str(weights)), "cpu")
    red = square_pixels(Image.new("RGB", (300, 300), (220, 20, 20)), enc.image_size)
    scores = enc.encode_texts(["a red square", "a green forest", "a photo of a cat"]) @ enc.encode_images(red[None])[0]
    assert int(np.argmax(scores)) == 0
