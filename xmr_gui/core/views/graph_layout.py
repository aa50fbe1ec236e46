"""Label graphs for people: a stable 2-D layout and a PNG rendering (Pillow; no Qt) of a NamedGraph."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

if TYPE_CHECKING:
    from ..learn.label_graph import NamedGraph


def spring_layout(weights: np.ndarray, seed: int = 0, iterations: int = 300) -> np.ndarray:
    """Fruchterman–Reingold positions in [-1, 1]² for a weighted graph; seeded, so redraws are stable."""
    n = len(weights)
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-1, 1, (n, 2))
    W = np.maximum(weights, weights.T)
    np.fill_diagonal(W, 0)
    k = 1.0 / np.sqrt(max(n, 1))
    temperature = 0.1
    for _ in range(iterations):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.maximum(np.linalg.norm(delta, axis=-1), 1e-3)
        force = (2 * k * k / dist**2)[..., None] * delta - (W * dist / k)[..., None] * delta
        disp = force.sum(axis=1)
        length = np.maximum(np.linalg.norm(disp, axis=1, keepdims=True), 1e-9)
        pos += disp / length * np.minimum(length, temperature)
        temperature *= 0.985
    pos -= pos.mean(axis=0)
    return cast(np.ndarray, pos / np.maximum(np.abs(pos).max(axis=0), 1e-9))  # fill both axes


def render_png(g: NamedGraph, path: str | os.PathLike[str], size: int = 1200) -> Path:
    """Nodes sized by label frequency, edges drawn with width ∝ re-weighted adjacency, arrows i → j for P(j|i) ≥ τ."""
    from PIL import Image, ImageDraw, ImageFont

    A = g.graph.reweighted
    pos = spring_layout(A + A.T)
    xy = (pos * 0.40 + 0.47) * size
    freq = g.graph.frequencies.astype(float)
    radius = 8 + 22 * np.sqrt(freq / max(freq.max(), 1))
    im = Image.new("RGB", (size, size + 60), "white")
    d = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=18) if hasattr(ImageFont, "load_default") else None
    B = g.graph.binary
    for i, j in zip(*np.nonzero(B), strict=False):
        width = max(1, int(round(1 + 12 * A[i, j])))
        d.line([tuple(xy[i]), tuple(xy[j])], fill=(120, 140, 200), width=width)
    for i, name in enumerate(g.labels):
        x, y = xy[i]
        r = radius[i]
        d.ellipse([x - r, y - r, x + r, y + r], fill=(250, 180, 60), outline=(90, 60, 20))
        d.text((x + r + 3, y - 9), name, fill=(20, 20, 20), font=font)
    d.text(
        (10, size + 10),
        f"{g.source}: tau={g.graph.tau:g}, p={g.graph.p:g}, {g.graph.n_edges} edges",
        fill=(0, 0, 0),
        font=font,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)
    return path
