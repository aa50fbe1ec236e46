"""learn/calibrate.py: suggestion thresholds for a precision target, on generated scores whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from xmr_gui.core.learn.calibrate import (
    PSEUDO_COUNTS,
    calibrate,
    choose_pseudo_count,
    global_threshold,
    offered,
    own_thresholds,
    shrunk_thresholds,
)


def two_labels(n_frequent: int = 60, n_rare: int = 2, photos: int = 200, seed: int = 0):
    """Label 0 on `n_frequent` photos, separable from 0.8 (positives 0.8-1, negatives 0-0.6); label 1 on `n_rare`
    photos at 0.95, with one negative just above them. Scores of the other labels are low."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((photos, 2), np.float32)
    scores = rng.uniform(0.0, 0.6, (photos, 2)).astype(np.float32)
    labels[:n_frequent, 0] = 1
    scores[:n_frequent, 0] = rng.uniform(0.8, 1.0, n_frequent)
    labels[n_frequent : n_frequent + n_rare, 1] = 1
    scores[n_frequent : n_frequent + n_rare, 1] = 0.95
    scores[-1, 1] = 0.97  # the rare label's one confusion, above its positives
    return scores, labels


def precision(scores, labels, cuts):
    s = offered(scores, cuts)
    return (s & (labels > 0)).sum() / max(s.sum(), 1)


def test_the_global_threshold_is_the_lowest_on_the_grid_that_meets_the_target():
    scores, labels = two_labels()
    t = global_threshold(scores, labels, 0.7)
    assert precision(scores, labels, np.full(2, t)) >= 0.7  # met on the calibration photos
    assert precision(scores, labels, np.full(2, t - 0.01)) < 0.7  # and not one step lower
    # a naive loop over the grid agrees
    grid = np.round(np.arange(0.01, 1.0, 0.01), 2)
    assert t == pytest.approx(next(g for g in grid if precision(scores, labels, np.full(2, g)) >= 0.7))


def test_a_label_with_many_positives_keeps_its_own_threshold_one_with_two_is_pulled_to_the_global():
    scores, labels = two_labels()
    own = own_thresholds(scores, labels, 0.7)
    glob = global_threshold(scores, labels, 0.7)
    shrunk = shrunk_thresholds(scores, labels, 4.0, 0.7)
    # n / (n + m) of the way to its own: label 0 (60 positives) 60/64 of it, label 1 (2) only 2/6
    assert shrunk[0] == pytest.approx((60 * own[0] + 4 * glob) / 64, abs=1e-5)
    assert shrunk[1] == pytest.approx((2 * own[1] + 4 * glob) / 6, abs=1e-5)
    assert abs(shrunk[0] - own[0]) < 0.1 * abs(own[0] - glob) + 1e-6
    assert abs(shrunk[1] - glob) < abs(shrunk[1] - own[1])
    assert np.allclose(shrunk_thresholds(scores, labels, 0.0, 0.7), own)  # m 0: each its own
    assert np.allclose(shrunk_thresholds(scores, labels, np.inf, 0.7), glob)  # m inf: the global one
    unseen = np.zeros((len(labels), 3), np.float32)
    unseen[:, :2] = labels
    s3 = np.hstack([scores, np.full((len(scores), 1), 0.1, np.float32)])
    assert shrunk_thresholds(s3, unseen, 4.0, 0.7)[2] == pytest.approx(global_threshold(s3, unseen, 0.7))


def test_cross_validation_picks_a_pseudo_count_that_carries_over():
    scores, labels = two_labels(photos=300)
    m, by = choose_pseudo_count(scores, labels, 0.7)
    assert set(by) == {f"{c:g}" for c in PSEUDO_COUNTS} and m in PSEUDO_COUNTS
    assert by[f"{m:g}"] == max(by.values())
    out = calibrate(scores, labels, 0.7)
    assert out.pseudo_count == m and out.per_label.shape == (2,)
    assert precision(scores, labels, np.full(2, out.global_threshold)) >= 0.7
