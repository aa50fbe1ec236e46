"""Distinct colours for many labels: a Glasbey-style qualitative palette, computed (no table to keep in sync).

Glasbey et al. (2007), "Colour displays for categorical images": each next colour is the candidate farthest (in
CIELAB, the space where distance follows what people see) from every colour already chosen. The candidates are
an sRGB grid without the very dark, the very light and the near-greys, so each colour reads as a colour on both
a light and a dark background. Deterministic: the same n gives the same colours, and the first k colours of a
longer palette are the palette of k (a legend keeps its colours when labels are added).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

GRID = 18  # sRGB levels per channel for the candidates (18³ = 5832)
SEED = (31, 119, 180)  # the first colour: matplotlib's blue, as the old palette began


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(n, 3) sRGB in 0..255 → (n, 3) CIELAB (D65)."""
    c = np.asarray(rgb, np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


@lru_cache(maxsize=1)
def _candidates() -> tuple[np.ndarray, np.ndarray]:
    levels = np.linspace(0, 255, GRID)
    rgb = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    lab = srgb_to_lab(rgb)
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    keep = (lab[:, 0] >= 35) & (lab[:, 0] <= 85) & (chroma >= 25)
    return np.round(rgb[keep]).astype(np.int64), lab[keep]


@lru_cache(maxsize=8)
def _palette(n: int) -> tuple[tuple[int, int, int], ...]:
    rgb, lab = _candidates()
    chosen = [int(np.argmin(np.abs(rgb - np.array(SEED)).sum(axis=1)))]
    nearest = np.linalg.norm(lab - lab[chosen[0]], axis=1)
    while len(chosen) < n:
        i = int(np.argmax(nearest))
        chosen.append(i)
        nearest = np.minimum(nearest, np.linalg.norm(lab - lab[i], axis=1))
    return tuple((int(r), int(g), int(b)) for r, g, b in rgb[chosen])


def distinct_colours(n: int) -> list[tuple[int, int, int]]:
    """`n` colours, each as far from all the others as the candidates allow (the first ones the most distinct)."""
    if n <= 0:
        return []
    size = max(32, 1 << (n - 1).bit_length())  # computed for a power of two: prefixes are shared and cached
    return list(_palette(size)[:n])
