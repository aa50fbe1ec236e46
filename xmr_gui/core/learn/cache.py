"""A cache of the labelled training photos beside a checkpoint's label classifiers (Tip-Adapter, training-free).

A photo's suggestion scores become (1 − w) × the classifiers' probabilities + w × the cache's vote: every training
photo votes for its labels with affinity exp(−β(1 − cos)) to the photo in the served space, the votes summed per
label as a share of the total affinity (so the mix stays within 0–1 and keeps the 0.5 suggestion threshold's
meaning). w and β are chosen on the validation split at training time (`choose`); w = 0 (no cache) wins ties. On the
real-label ablation (bench/RESULTS.md, "Never worse than the backbone") the vote of a few hundred labelled photos
beats classifiers trained on them at ranking any true label in the top 3.

The same vote answers a query that names one label (`xmr search birds`): a photo's score is its cosine with the
label's query vector (search/label_query.py) plus w_q × that label's vote share, so photos like the ones the user
labelled "birds" rise; w_q and β_q are chosen on the validation split by label-query mAP (`choose_query_vote`;
bench/RESULTS.md, "The labelled photos vote in label queries").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np

WEIGHTS = (0.0, 0.25, 0.5, 0.75)
BETAS = (1.0, 5.5, 20.0)  # Tip-Adapter's sharpness: 1 = every photo votes, 20 = the nearest few
LIFT_CHUNK = 1024  # photos per block when lifting a label query's scores (a block's affinity: 1,024 × keys floats)


@dataclass(frozen=True)
class LabelCache:
    keys: np.ndarray  # (N, dim) the training photos' unit vectors in the served space
    labels: np.ndarray  # (N, C) their labels, 0/1
    weight: float
    beta: float

    def votes(self, z: np.ndarray) -> np.ndarray:
        """Served-space vectors z (n, dim) → (n, C) each label's share of the affinity-weighted vote."""
        return vote_shares(np.atleast_2d(z), self.keys, self.labels, self.beta)

    def lift(self, direct: np.ndarray, z: np.ndarray, label: int) -> np.ndarray:
        """A one-label query's scores for photos z (n, dim): their cosines with its query vector, `direct` (n,),
        plus `weight` × their vote share for `label`."""
        z = np.atleast_2d(z)
        column = self.labels[:, label : label + 1]
        # in row chunks: the affinity is chunk × keys, not photos × keys (a filtered query may lift thousands)
        votes = np.concatenate(
            [
                vote_shares(z[i : i + LIFT_CHUNK], self.keys, column, self.beta)[:, 0]
                for i in range(0, len(z), LIFT_CHUNK)
            ]
            or [np.zeros(0, np.float32)]
        )
        return (np.asarray(direct, np.float32) + self.weight * votes).astype(np.float32)

    def mix(self, probabilities: np.ndarray, z: np.ndarray) -> np.ndarray:
        if self.weight == 0.0:
            return probabilities
        mixed = (1.0 - self.weight) * probabilities + self.weight * self.votes(z)
        return mixed.astype(np.float32)


def vote_shares(
    z: np.ndarray, keys: np.ndarray, labels: np.ndarray, beta: float, leave_one_out: bool = False
) -> np.ndarray:
    """(n, C) each label's share of the affinity-weighted vote of the `keys` photos; leave_one_out: z are the keys
    themselves, in order, and none votes for itself."""
    affinity = np.exp(-beta * (1.0 - np.asarray(z, np.float32) @ np.asarray(keys, np.float32).T))
    if leave_one_out:
        np.fill_diagonal(affinity, 0.0)
    total = np.maximum(affinity.sum(axis=1, keepdims=True), 1e-12)
    return cast(np.ndarray, (affinity @ np.asarray(labels, np.float32) / total).astype(np.float32))


def label_query_ap(scores: np.ndarray, labels: np.ndarray) -> float:
    """Label-query mAP from scores (n photos, C labels): column c ranks the photos for a query naming label c,
    relevant = the photos with that label; labels without one are left out (as `evaluate.mean_average_precision`)."""
    order = np.argsort(-np.asarray(scores, np.float64).T, axis=1, kind="stable")
    relevant = (np.asarray(labels).T > 0)[np.arange(scores.shape[1])[:, None], order]
    hits = np.cumsum(relevant, axis=1)
    n_rel = relevant.sum(axis=1)
    ap = (hits / np.arange(1, relevant.shape[1] + 1) * relevant).sum(axis=1) / np.maximum(n_rel, 1)
    keep = n_rel > 0
    return float(ap[keep].mean()) if keep.any() else 0.0


def choose_query_vote(
    direct: np.ndarray, z: np.ndarray, keys: np.ndarray, key_labels: np.ndarray, labels: np.ndarray
) -> tuple[float, float, dict[str, float]]:
    """(w_q, β_q, the validation numbers) of the training photos' vote in label queries: photos z with `labels`,
    `direct` (n, C) their cosines with each label's query vector, training photos `keys` with `key_labels` (all in the
    served space). Chosen by label-query mAP over the same grid as the suggestions' vote (w = 0 wins ties, then the
    smaller w); reported: that mAP without ("direct") and with ("voted") the vote."""
    best = (label_query_ap(direct, labels), 0.0, BETAS[0])
    alone = best[0]
    for beta in BETAS:
        votes = vote_shares(z, keys, key_labels, beta)
        for w in WEIGHTS[1:]:
            quality = label_query_ap(direct + w * votes, labels)
            if quality > best[0]:
                best = (quality, w, beta)
    return best[1], best[2], {"direct": alone, "voted": best[0]}


def label_ranking_ap(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean over photos (with ≥ 1 label) of the average precision of its labels ranked by score: how well the
    suggestions put a photo's own labels first."""
    order = np.argsort(-scores, axis=1, kind="stable")
    relevant = np.take_along_axis(labels > 0, order, axis=1)
    precision = np.cumsum(relevant, axis=1) / np.arange(1, relevant.shape[1] + 1)
    n = relevant.sum(axis=1)
    keep = n > 0
    if not keep.any():
        return 0.0
    return float(((precision * relevant).sum(axis=1)[keep] / n[keep]).mean())


def rarest_reciprocal_rank(scores: np.ndarray, labels: np.ndarray, frequency: np.ndarray) -> float:
    """Mean over photos (with ≥ 1 label) of 1 / the rank of the photo's least frequent label (by `frequency`, (C,),
    counted over the training photos): how well the suggestions put a photo's most specific label first."""
    keep = (labels > 0).any(axis=1)
    if not keep.any():
        return 0.0
    rarest = np.argmin(np.where(labels > 0, frequency[None, :], np.inf), axis=1)
    own = scores[np.arange(len(scores)), rarest][:, None]
    rank = (
        1 + (scores > own).sum(axis=1) + ((scores == own) & (np.arange(scores.shape[1]) < rarest[:, None])).sum(axis=1)
    )
    return float((1.0 / rank)[keep].mean())


def suggestion_quality(scores: np.ndarray, labels: np.ndarray, frequency: np.ndarray) -> float:
    """What the vote is chosen by: the mean of label-ranking AP (every label of a photo counts alike) and the
    reciprocal rank of its most specific label. Label-ranking AP alone rewards frequent labels (a parent folder is
    in most photos' labels, and the vote of many photos piles onto it): chosen by it, the vote lifted "any true label
    in the top 3" but cost the deepest folder; the mean keeps both above the untrained model (bench/RESULTS.md,
    "Which criterion chooses the vote": 6 criteria measured from the same checkpoints)."""
    return 0.5 * (label_ranking_ap(scores, labels) + rarest_reciprocal_rank(scores, labels, frequency))


def choose(
    probabilities: np.ndarray, z: np.ndarray, keys: np.ndarray, key_labels: np.ndarray, labels: np.ndarray
) -> tuple[float, float, dict[str, float]]:
    """(w, β, the validation numbers) for photos z with `labels` whose classifier probabilities are given, and
    training photos `keys` with `key_labels` (all vectors in the served space). Chosen by `suggestion_quality`
    (w = 0 wins ties, then the smaller w); the numbers reported are label-ranking AP without and with the vote."""
    frequency = (np.asarray(key_labels) > 0).sum(axis=0).astype(np.float64)
    best = (suggestion_quality(probabilities, labels, frequency), 0.0, BETAS[0], probabilities)
    for beta in BETAS:
        votes = vote_shares(z, keys, key_labels, beta)
        for w in WEIGHTS[1:]:
            mixed = (1 - w) * probabilities + w * votes
            quality = suggestion_quality(mixed, labels, frequency)
            if quality > best[0]:
                best = (quality, w, beta, mixed)
    alone = label_ranking_ap(probabilities, labels)
    return best[1], best[2], {"classifiers": alone, "with_cache": label_ranking_ap(best[3], labels)}


PRECISION_TARGET = 0.7  # a suggested label is right at least this often on the user's own validation photos
MIN_POSITIVES = 3  # fewer validation photos with a label than this: its threshold stays the global one


def thresholds(
    scores: np.ndarray,
    labels: np.ndarray,
    default: float,
    target: float = PRECISION_TARGET,
    min_positives: int = MIN_POSITIVES,
) -> np.ndarray:
    """Each label's suggestion threshold from held-out photos' suggestion `scores` (n, C) and true `labels` (n, C):
    the lowest score from which the suggestions of that label are right at least `target` of the time (the most
    it suggests at that precision); where no threshold reaches the target, the one of the best precision; where too
    few photos carry the label to tell, `default`. No single threshold suits every label: a frequent, easy label
    is right from a low score, a rare or confusable one only near the top."""
    out = np.full(scores.shape[1], float(default), np.float32)
    for c in range(scores.shape[1]):
        truth = labels[:, c] > 0
        if truth.sum() < min_positives:
            continue
        order = np.argsort(-scores[:, c], kind="stable")
        hits = np.cumsum(truth[order])
        precision = hits / np.arange(1, len(order) + 1)
        ok = np.flatnonzero(precision >= target)
        at = int(ok[-1]) if len(ok) else int(np.argmax(precision))
        out[c] = float(scores[order[at], c])
    return out
