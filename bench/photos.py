"""Camera-like benchmark photos: 1–4 MP JPEGs with gradients, shapes and sensor noise (deterministic)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SIZES = [(1280, 960), (1600, 1200), (2048, 1536), (2304, 1728)]  # 1.2 – 4.0 MP


def make_photos(folder: Path, n: int, seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        path = folder / f"IMG_{i:04d}.jpg"
        if path.exists():
            continue
        w, h = SIZES[i % len(SIZES)]
        top, bottom = rng.integers(0, 255, 3), rng.integers(0, 255, 3)
        t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        arr = (top * (1 - t) + bottom * t).repeat(w, axis=1)
        arr += rng.normal(0, 6, (h, w, 3)).astype(np.float32)  # sensor noise keeps JPEGs camera-sized
        im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        d = ImageDraw.Draw(im)
        for _ in range(8):
            x, y, s = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(50, 500))
            d.ellipse([x, y, x + s, y + s], fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
        im.save(path, quality=88)
    return folder


if __name__ == "__main__":
    make_photos(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 500)
