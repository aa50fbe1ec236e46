"""What a trained checkpoint serves, chosen on its validation photos: the blend with the backbone's space
(`choose_blend`), the training photos' vote in suggestions (`choose_cache`) and in label queries
(`choose_query_vote`), the scores suggestion thresholds are calibrated on, and the numbers its card keeps (retrieval
at a split, label queries, the untrained baseline). `train.py` trains; `recipes.py` calls both."""

from __future__ import annotations

import numpy as np
import torch

from .dataset import Dataset, Features
from .evaluate import retrieval_report
from .model import SharedSpaceModel
from .space import BACKBONE_SHARES, blend, label_query_vectors
from .train import label_query_map, logit_scale, project


def evaluate_split(
    model: SharedSpaceModel, ds: Dataset, feats: Features, split: str, share: float = 0.0
) -> dict[str, float]:
    """Retrieval metrics on a split of the space served at backbone share `share` (`space.blend`; 0: learned)."""
    idx = ds.split(split)
    idx = idx[feats.ok[idx]]
    zi, zt = project(model, feats.img[idx], feats.txt[idx])
    if share:
        zi, zt = blend(feats.img[idx], zi, share), blend(feats.txt[idx], zt, share)
    return retrieval_report(zi, zt, ds.labels[idx])


def can_blend(feats: Features) -> bool:
    """Whether the backbone's images and texts (and label prompts) are vectors of one space, as blending needs."""
    return bool(feats.img.shape[1] == feats.txt.shape[1] == feats.label_inputs.shape[1])


# The least backbone share served when a dataset's captions are only its labels (keywords, folders): its validation
# text search is then label search and cannot see free-text queries, which the learned space can lose. Measured by
# issue #25's protocol (bench/user_protocol.py; bench/RESULTS.md "As a user trains"): free-text search level with
# the backbone at the chosen share (+0.002 [-0.003, +0.007]), above it at ≥ 0.5 (+0.008 [+0.004, +0.012]), with label
# queries and suggestions as before; 0.75 costs photo → text more (-0.026).
LABEL_CAPTIONS_MIN_SHARE = 0.5


def choose_blend(
    model: SharedSpaceModel, ds: Dataset, feats: Features, split: str = "val", least: float = 0.0
) -> tuple[float, dict[float, dict[str, float]]]:
    """The backbone share (of `space.BACKBONE_SHARES`, at least `least`) whose served space retrieves best on `split`
    (mAP, both ways), and the retrieval report at every share. On a tie the larger share wins: the backbone's own
    space keeps what a few hundred photos cannot teach (queries that name no label). Share 1 is the untrained
    backbone, so the choice is never worse than it on `split`."""
    if not can_blend(feats):
        return 0.0, {0.0: evaluate_split(model, ds, feats, split)}
    reports = {share: evaluate_split(model, ds, feats, split, share) for share in BACKBONE_SHARES}
    allowed = [share for share in sorted(reports, reverse=True) if share >= least]
    best = max(allowed, key=lambda share: reports[share]["map_avg"])
    return best, reports


def _served_suggestions(
    model: SharedSpaceModel, ds: Dataset, feats: Features, share: float, split: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(classifier probabilities, photo vectors, training photos' vectors, their labels, the photos' labels) of
    `split`'s photos in the space served at backbone share `share`: what suggestions are computed from."""
    from .heads import sigmoid

    idx = ds.split(split)
    idx = idx[feats.ok[idx]]
    zi, _ = project(model, feats.img[idx], feats.txt[idx])
    with torch.no_grad():
        classifiers = logit_scale(model.cfg) * model.classifiers().numpy()
    probabilities = sigmoid(zi @ classifiers.T)
    if share:
        zi = blend(feats.img[idx], zi, share)
    keys, key_labels = _served_keys(model, ds, feats, share)
    return probabilities, zi, keys, key_labels, ds.labels[idx]


def choose_cache(
    model: SharedSpaceModel, ds: Dataset, feats: Features, share: float, split: str = "val"
) -> tuple[float, float, dict[str, float]]:
    """Whether and how much the training photos' vote joins the classifiers in suggestions (`cache.choose`, in the
    space served at backbone share `share`), judged by label-ranking AP on `split`; with the untrained backbone's
    prompt ranking of the same photos ("zero_shot") for comparison."""
    from .cache import choose, label_ranking_ap

    probabilities, zi, keys, key_labels, labels = _served_suggestions(model, ds, feats, share, split)
    w, beta, val = choose(probabilities, zi, keys, key_labels, labels)
    idx = ds.split(split)
    idx = idx[feats.ok[idx]]
    val["zero_shot"] = label_ranking_ap(feats.img[idx] @ feats.label_inputs.T, ds.labels[idx])
    return w, beta, val


def calibration_scores(
    model: SharedSpaceModel, ds: Dataset, feats: Features, share: float, w: float, beta: float
) -> tuple[np.ndarray, np.ndarray]:
    """(served suggestion scores, true labels) of the photos suggestion thresholds are calibrated on: the training
    photos, each one's own vote left out of the training photos' vote (leave-one-out; their classifier probabilities
    are in-sample), then the validation photos. On bench/thresholds.py's photos a global threshold calibrated on
    these beat one calibrated on the validation photos alone (bench/RESULTS.md, "Suggestion thresholds")."""
    from .cache import vote_shares

    scores, labels = [], []
    for split in ("train", "val"):
        probabilities, zi, keys, key_labels, truth = _served_suggestions(model, ds, feats, share, split)
        if w > 0:
            votes = vote_shares(zi, keys, key_labels, beta, leave_one_out=split == "train")
            probabilities = (1 - w) * probabilities + w * votes
        scores.append(probabilities)
        labels.append(truth)
    return np.vstack(scores).astype(np.float32), np.vstack(labels)


def cache_keys(img: np.ndarray) -> np.ndarray:
    """The training photos' backbone vectors as the checkpoint stores them (float16: half the size)."""
    return np.asarray(img, np.float32).astype(np.float16).astype(np.float32)


def _served_label_queries(
    model: SharedSpaceModel, ds: Dataset, feats: Features, split: str, typed: np.ndarray, share: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(photo vectors, the labels' typed text vectors, their classifiers, the photos' labels) of `split` in the space
    served at backbone share `share` (`heads.BlendedSpace`: a classifier there is blended with its label's prompt
    vector)."""
    idx = ds.split(split)
    idx = idx[feats.ok[idx]]
    zi, label_text = project(model, feats.img[idx], typed)
    with torch.no_grad():
        cls = model.classifiers().numpy()
    if share:
        zi, label_text = blend(feats.img[idx], zi, share), blend(typed, label_text, share)
        cls = blend(feats.label_inputs, cls, share)
    return zi, label_text, cls, ds.labels[idx]


def _served_keys(model: SharedSpaceModel, ds: Dataset, feats: Features, share: float) -> tuple[np.ndarray, np.ndarray]:
    """The training photos' vectors as a checkpoint's cache serves them (stored float16, projected, blended) and
    their labels."""
    train_idx = ds.split("train")
    train_idx = train_idx[feats.ok[train_idx]]
    keys_in = cache_keys(feats.img[train_idx])
    keys, _ = project(model, keys_in, feats.txt[train_idx])
    return (blend(keys_in, keys, share) if share else keys), ds.labels[train_idx]


def choose_query_vote(
    model: SharedSpaceModel, ds: Dataset, feats: Features, share: float, typed: np.ndarray, split: str = "val"
) -> tuple[float, float, dict[str, float]]:
    """Whether and how much the training photos' vote joins a one-label query (`cache.choose_query_vote`), judged by
    label-query mAP on `split` in the space served at backbone share `share`, the query as `xmr search LABEL` makes
    it (`space.label_query_vectors`: classifier + ¼ × the label as typed)."""
    from .cache import choose_query_vote as choose

    zi, label_text, cls, labels = _served_label_queries(model, ds, feats, split, typed, share)
    keys, key_labels = _served_keys(model, ds, feats, share)
    return choose(zi @ label_query_vectors(cls, label_text).T, zi, keys, key_labels, labels)


def label_query_report(
    model: SharedSpaceModel,
    ds: Dataset,
    feats: Features,
    split: str,
    typed: np.ndarray | None = None,
    share: float = 0.0,
    vote: tuple[float, float] = (0.0, 1.0),
) -> dict[str, float]:
    """How a one-label query is best answered on a split: mAP of the label's classifier, of its text vector (the
    label as typed, `typed`: the backbone's vectors of the bare label names, as `xmr search dog` encodes "dog"; the
    prompt vectors when not given), of the two combined as label_query.py does, and "served": that combination with
    the training photos' vote at `vote` = (w_q, β_q) (`cache.LabelCache.lift`; = "combined" at w_q 0), in the space
    served at backbone share `share`. The card keeps it for the validation and test splits; a library answers label
    queries with the classifiers only where "served" clearly beats the text vector on validation
    (`Checkpoint.classifier_queries`). "zero_shot": the backbone's own vector of the typed label over its own image
    vectors, the baseline."""
    from .cache import label_query_ap, vote_shares

    typed = feats.label_inputs if typed is None else typed
    zi, label_text, cls, labels = _served_label_queries(model, ds, feats, split, typed, share)
    combined = zi @ label_query_vectors(cls, label_text).T
    served = combined
    if vote[0] > 0:
        keys, key_labels = _served_keys(model, ds, feats, share)
        served = combined + vote[0] * vote_shares(zi, keys, key_labels, vote[1])
    idx = ds.split(split)
    idx = idx[feats.ok[idx]]
    return {
        "classifier": label_query_map(cls, zi, labels),
        "text": label_query_map(label_text, zi, labels),
        "combined": label_query_ap(combined, labels),
        "served": label_query_ap(served, labels),
        "zero_shot": label_query_map(typed, feats.img[idx], labels),  # the backbone alone
    }


def zero_shot(ds: Dataset, feats: Features, split: str) -> dict[str, float]:
    """The raw backbone space (images vs captions) on the same split: the baseline every model must beat."""
    idx = ds.split(split)
    idx = idx[feats.ok[idx]]
    return retrieval_report(feats.img[idx], feats.txt[idx], ds.labels[idx])
