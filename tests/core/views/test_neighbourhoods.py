"""Neighbours in the full space and the layout measures (views/neighbourhoods.py) against brute force."""

from __future__ import annotations

import numpy as np


def brute_trustworthiness(high, low, k):
    """Venna & Kaski's formula, written out: ranks in the space (cosine) of the map's neighbours that are not
    neighbours in the space."""
    n = len(high)
    u = high / np.linalg.norm(high, axis=1, keepdims=True)
    dh = 1 - u @ u.T
    dl = ((low[:, None] - low[None]) ** 2).sum(-1)
    total = 0.0
    for i in range(n):
        order = [j for j in np.argsort(dh[i], kind="stable") if j != i]
        rank = {j: r + 1 for r, j in enumerate(order)}
        near_low = [j for j in np.argsort(dl[i], kind="stable") if j != i][:k]
        total += sum(max(0, rank[j] - k) for j in near_low)
    return 1 - 2 / (n * k * (2 * n - 3 * k - 1)) * total


def brute_recall(high, low, k):
    u = high / np.linalg.norm(high, axis=1, keepdims=True)
    kept = 0
    for i in range(len(high)):
        a = sorted((j for j in range(len(high)) if j != i), key=lambda j: -u[i] @ u[j])[:k]
        b = sorted((j for j in range(len(high)) if j != i), key=lambda j: np.sum((low[i] - low[j]) ** 2))[:k]
        kept += len(set(a) & set(b))
    return kept / (len(high) * k)


def test_measures_match_brute_force_and_can_tell_good_from_bad():
    from xmr_gui.core.views.neighbourhoods import grid_fill, knn_recall, trustworthiness

    rng = np.random.default_rng(0)
    high = rng.standard_normal((80, 12))
    good = high[:, :2] * 3 + 0.01 * rng.standard_normal((80, 2))  # keeps some of the structure
    bad = rng.standard_normal((80, 2))
    for low in (good, bad):
        assert np.isclose(trustworthiness(high, low, 10), brute_trustworthiness(high, low, 10), atol=1e-9)
        assert np.isclose(knn_recall(high, low, 10), brute_recall(high, low, 10))
    same = high[:, :2] / np.linalg.norm(high[:, :2], axis=1, keepdims=True)  # unit: Euclidean orders as cosine
    assert trustworthiness(same, same, 10) == 1.0 and knn_recall(same, same, 10) == 1.0
    assert trustworthiness(high, bad, 10) < trustworthiness(high, good, 10)
    assert grid_fill(np.array([[0, 0], [1, 1]]), 2) == 0.5 and grid_fill(rng.random((5000, 2)), 12) == 1.0


def test_neighbours_in_the_full_space():
    from xmr_gui.core.views.neighbourhoods import neighbours

    v = np.array([[1, 0, 0], [0.9, 0.1, 0], [0.5, 0.5, 0], [0, 1, 0], [0.95, 0, 0.05]], np.float32)
    assert neighbours(v, 0, 3) == [4, 1, 2]
    assert neighbours(v, 0, 10) == [4, 1, 2, 3]  # all the others, never itself
    among = np.array([True, True, False, True, False])
    assert neighbours(v, 0, 2, among=among) == [1, 3]
    assert neighbours(v, 4, 0) == []
