"""Neighbours in the full vector space, and how well a 2-D layout keeps them.

`neighbours` is what the map shows on selecting a photo: its k nearest photos of the space itself, not of the
picture, so where the 2-D layout and the space disagree is visible. `trustworthiness` (scikit-learn's, Venna &
Kaski 2001: are the map's neighbours true neighbours?) and `knn_recall` (the share of each point's k nearest
neighbours in the space that are among its k nearest on the map) measure a layout; bench/map_layouts.py reports
both for every layout the map offers. Distances in the space are cosine (the library's vectors are unit), on the
map Euclidean.
"""

from __future__ import annotations

from typing import cast

import numpy as np


def neighbours(vectors: np.ndarray, i: int, k: int = 10, among: np.ndarray | None = None) -> list[int]:
    """The rows of `vectors` nearest to row `i` by cosine, best first, `i` itself left out.

    `among` (a bool mask over the rows) limits the candidates, e.g. to the map's photos (`MapData.kinds ==
    "image"`), so a label or a query row gets its nearest photos."""
    v = np.asarray(vectors, np.float32)
    if len(v) == 0 or k <= 0:
        return []
    norms = np.maximum(np.linalg.norm(v, axis=1), 1e-12)
    scores = (v @ v[i]) / (norms * norms[i])
    scores[i] = -np.inf
    if among is not None:
        scores[~np.asarray(among, bool)] = -np.inf
    order = np.argsort(-scores, kind="stable")[:k]
    return [int(j) for j in order if np.isfinite(scores[j])]


def _knn(x: np.ndarray, k: int, metric: str) -> np.ndarray:
    """(n, k) indices of each row's k nearest other rows (brute force; ties by index)."""
    x = np.asarray(x, np.float64)
    if metric == "cosine":
        u = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        d = 1.0 - u @ u.T
    else:
        sq = (x * x).sum(1)
        d = sq[:, None] + sq[None, :] - 2 * x @ x.T
    np.fill_diagonal(d, np.inf)
    return cast(np.ndarray, np.argsort(d, axis=1, kind="stable")[:, :k])


def knn_recall(high: np.ndarray, low: np.ndarray, k: int = 10) -> float:
    """Mean share of each point's k nearest neighbours in `high` (cosine) kept among its k nearest in `low`."""
    n = len(high)
    k = min(k, n - 1)
    if k <= 0:
        return 1.0
    a, b = _knn(high, k, "cosine"), _knn(low, k, "euclidean")
    kept = sum(len(set(a[i].tolist()) & set(b[i].tolist())) for i in range(n))
    return kept / (n * k)


def trustworthiness(high: np.ndarray, low: np.ndarray, k: int = 10) -> float:
    """scikit-learn's trustworthiness of the layout `low` of `high` (cosine in the space), in [0, 1]."""
    from sklearn.manifold import trustworthiness as sk_trustworthiness

    n = len(high)
    k = min(k, (n - 1) // 2 - 1)  # scikit-learn's bound: n_neighbors < n_samples / 2
    if k < 1:
        return 1.0
    return float(sk_trustworthiness(np.asarray(high, np.float64), np.asarray(low, np.float64), n_neighbors=k,
                                    metric="cosine"))  # fmt: skip


def grid_fill(xy: np.ndarray, cells: int = 12) -> float:
    """The share of a cells×cells grid over the layout's bounding box that holds at least one point: how much
    of the plot the photos use."""
    xy = np.asarray(xy, np.float64)
    if len(xy) == 0:
        return 0.0
    lo, hi = xy.min(0), xy.max(0)
    span = np.where(hi > lo, hi - lo, 1.0)
    cell = np.minimum(((xy - lo) / span * cells).astype(int), cells - 1)
    return len({(int(a), int(b)) for a, b in cell}) / (cells * cells)
