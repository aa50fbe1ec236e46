"""Suggestion thresholds calibrated on the user's own labelled photos for a precision target (issue #25 item 5).

`xmr suggest` offers at most SUGGEST_TOP labels a photo, each at or above a threshold. Three ways to choose it from
held-out photos' suggestion scores and true labels:
  * `global_threshold`: one for every label, the lowest at which the suggestions are right `target` of the time;
  * `cache.thresholds`: each label's own by the same rule (the label's 3–10 validation photos: it fits their noise);
  * `shrunk_thresholds`: each label's own pulled toward the global one by its number of positives, n / (n + m) of the
    way to its own (empirical Bayes: a label seen twice keeps little of its own, one seen fifty times most of it),
    with the pseudo-count m chosen by cross-validation on the same photos (`choose_pseudo_count`).
Which is served is measured in bench/thresholds.py (bench/RESULTS.md, "Suggestion thresholds").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .cache import PRECISION_TARGET

SUGGEST_TOP = 5  # labels `xmr suggest` offers a photo at most (its -k default)
GRID = np.round(np.arange(0.01, 1.0, 0.01), 2)  # the thresholds tried for the one global threshold
PSEUDO_COUNTS = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, np.inf)  # 0: each label's own; inf: the global one


def offered(scores: np.ndarray, cuts: np.ndarray, k: int = SUGGEST_TOP) -> np.ndarray:
    """(n, C) bool: the labels `xmr suggest` offers each photo — at most k, best first, each at or above its cut."""
    passing = np.where(scores >= np.asarray(cuts, np.float32)[None, :], scores, -np.inf)
    top = np.argsort(-passing, axis=1, kind="stable")[:, :k]
    out = np.zeros(scores.shape, bool)
    rows = np.arange(len(scores))[:, None]
    out[rows, top] = np.isfinite(passing[rows, top])
    return out


def global_threshold(scores: np.ndarray, labels: np.ndarray, target: float = PRECISION_TARGET) -> float:
    """The one threshold for every label, from held-out `scores` (n, C) and `labels` (n, C): the lowest on GRID at
    which the (≤ SUGGEST_TOP a photo) suggestions are right at least `target` of the time; where none is, the one of
    the best precision."""
    top = offered(scores, np.full(scores.shape[1], -np.inf))  # one cut for all: the passing labels are a prefix
    s = np.where(top, scores, -np.inf).ravel()
    truth = (labels > 0).ravel()
    above = s[None, :] >= GRID[:, None]
    n = above.sum(axis=1)
    precision = (above & truth[None, :]).sum(axis=1) / np.maximum(n, 1)
    precision = np.where(n > 0, precision, -1.0)
    ok = np.flatnonzero(precision >= target)
    return float(GRID[ok[0]] if len(ok) else GRID[int(np.argmax(precision))])


def own_thresholds(scores: np.ndarray, labels: np.ndarray, target: float = PRECISION_TARGET) -> np.ndarray:
    """Each label's own threshold by the precision-target rule (`cache.thresholds` with no minimum of positives);
    NaN for a label no photo carries."""
    from .cache import thresholds

    return thresholds(scores, labels, np.nan, target, min_positives=1)


def shrunk_thresholds(
    scores: np.ndarray, labels: np.ndarray, pseudo: float, target: float = PRECISION_TARGET
) -> np.ndarray:
    """Each label's threshold: (n · own + m · global) / (n + m), n its positives among the photos, m = `pseudo`
    (0: each label's own where it has one; inf: the global one for all)."""
    glob = global_threshold(scores, labels, target)
    if np.isinf(pseudo):
        return np.full(scores.shape[1], glob, np.float32)
    own = own_thresholds(scores, labels, target)
    n = (labels > 0).sum(axis=0).astype(np.float64)
    mixed = np.where(n > 0, (n * np.nan_to_num(own) + pseudo * glob) / np.maximum(n + pseudo, 1e-12), glob)
    return mixed.astype(np.float32)


def f1(right: float, offered_: float, true: float) -> float:
    return 2.0 * right / max(offered_ + true, 1.0)


def cross_validated(
    scores: np.ndarray,
    labels: np.ndarray,
    calibrate: Callable[[np.ndarray, np.ndarray], np.ndarray],
    folds: int = 5,
    repeats: int = 4,
    seed: int = 0,
) -> float:
    """F1 of the suggestions on held-out folds of the photos, each fold's thresholds calibrated on the others (the
    counts pooled over folds and repeats): how well a way of calibrating carries over to photos it has not seen."""
    rng = np.random.default_rng(seed)
    right = made = true = 0.0
    for _ in range(repeats):
        fold = rng.permutation(len(scores)) % folds
        for f in range(folds):
            fit, held = fold != f, fold == f
            s = offered(scores[held], calibrate(scores[fit], labels[fit]))
            right += float((s & (labels[held] > 0)).sum())
            made += float(s.sum())
            true += float((labels[held] > 0).sum())
    return f1(right, made, true)


def choose_pseudo_count(
    scores: np.ndarray,
    labels: np.ndarray,
    target: float = PRECISION_TARGET,
    candidates: Sequence[float] = PSEUDO_COUNTS,
) -> tuple[float, dict[str, float]]:
    """The pseudo-count of `shrunk_thresholds` with the best cross-validated F1 on these photos (the larger, nearer
    the one global threshold, on a tie), and every candidate's F1 by str(m)."""

    def shrunk_by(m: float) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        return lambda s, y: shrunk_thresholds(s, y, m, target)

    by = {m: cross_validated(scores, labels, shrunk_by(m)) for m in candidates}
    best = max(sorted(by, reverse=True), key=lambda m: by[m])
    return float(best), {f"{m:g}": v for m, v in by.items()}


def gated_thresholds(
    scores: np.ndarray, labels: np.ndarray, min_positives: int, target: float = PRECISION_TARGET
) -> np.ndarray:
    """Each label's own threshold where at least `min_positives` photos carry it, the global one for the rest."""
    from .cache import thresholds

    return thresholds(scores, labels, global_threshold(scores, labels, target), target, min_positives)


THRESHOLDS_VERSION = (
    2  # the card's "thresholds" are shrunk on training + validation photos (1, absent: raw, validation)
)


@dataclass(frozen=True)
class Calibration:
    """What `xmr train` writes into the card's "suggest": the one global threshold (served by default) and each
    label's own, shrunk toward it (`xmr suggest --thresholds per-label`)."""

    global_threshold: float
    per_label: np.ndarray
    pseudo_count: float
    cross_validated_f1: dict[str, float]


def calibrate(scores: np.ndarray, labels: np.ndarray, target: float = PRECISION_TARGET) -> Calibration:
    """Both kinds of threshold from held-out (or left-out) photos' suggestion `scores` and true `labels`."""
    m, by = choose_pseudo_count(scores, labels, target)
    return Calibration(global_threshold(scores, labels, target), shrunk_thresholds(scores, labels, m, target), m, by)
