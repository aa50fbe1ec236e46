"""Training the shared space (heads + GCN) on cached backbone features, and the demo backbone from scratch."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..runtime.spec import OPENAI_MEAN, OPENAI_STD
from .dataset import Dataset, Features
from .evaluate import mean_average_precision, retrieval_report
from .label_graph import LabelGraph
from .losses import build_loss
from .losses.multilabel import MultiLabelLoss
from .model import SharedSpaceModel, TrainConfig
from .space import BACKBONE_SHARES, blend, label_query_vectors

# Losses that train the label classifiers (directly, or through USSL's label-set nodes): with one of them, the
# epoch kept is chosen on the classifiers' quality as label queries too, not only on retrieval.
CLASSIFIER_LOSSES = frozenset({"multilabel", "isomorphic"})


@dataclass
class EpochLog:
    epoch: int
    loss: float
    val_map: float  # retrieval mAP on the validation split (average of both ways)
    seconds: float
    val_labels: float = 0.0  # mAP of the label classifiers as queries over the validation photos
    val_score: float = 0.0  # what early stopping compares: see `selection_weight`


@dataclass
class TrainResult:
    model: SharedSpaceModel
    graph: LabelGraph
    history: list[EpochLog] = field(default_factory=list)
    best_epoch: int = 0


def _losses(cfg: TrainConfig) -> list[tuple[float, torch.nn.Module]]:
    out = []
    for name, params in cfg.losses.items():
        params = dict(params)
        weight = float(params.pop("weight", 1.0))
        out.append((weight, build_loss(name, **params)))
    return out


def selection_weight(cfg: TrainConfig) -> float:
    """The share of the validation score that comes from the classifiers as label queries (`cfg.select_labels`),
    0 when no configured loss trains them (their mAP would be noise)."""
    training = {name for name, params in cfg.losses.items() if float(params.get("weight", 1.0)) > 0}
    return cfg.select_labels if CLASSIFIER_LOSSES & training else 0.0


def label_query_map(classifiers: np.ndarray, zi: np.ndarray, labels: np.ndarray) -> float:
    """mAP of each label's unit classifier as a query over images zi (relevant: the photos with that label), labels
    without a photo left out: how well the checkpoint answers a query that names a label."""
    q = classifiers / np.maximum(np.linalg.norm(classifiers, axis=1, keepdims=True), 1e-12)
    return mean_average_precision(q.astype(np.float32), zi, np.eye(len(q), dtype=np.float32), labels)


def project(model: SharedSpaceModel, img: np.ndarray, txt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    model.eval()
    with torch.no_grad():
        zi = torch.nn.functional.normalize(model.img_head(torch.as_tensor(img)), dim=-1).numpy()
        zt = torch.nn.functional.normalize(model.txt_head(torch.as_tensor(txt)), dim=-1).numpy()
    return zi, zt


def train_space(
    ds: Dataset,
    feats: Features,
    cfg: TrainConfig,
    on_epoch: Callable[[EpochLog, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train heads + GCN with the config's losses; early stopping on the validation score: retrieval mAP (average of
    both ways), mixed with the classifiers' label-query mAP when a loss trains them (`selection_weight`).

    Why the mix: on few photos retrieval mAP peaks within a few epochs, before the classifiers have learnt anything
    (176 real photos: epoch 4-15 of 60, and every label query then returned the same photos); a checkpoint is also
    used for its classifiers (label queries, suggestions), so the epoch kept must be good at both."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    train_idx = ds.split("train")
    train_idx = train_idx[feats.ok[train_idx]]
    val_idx = ds.split("val")
    val_idx = val_idx[feats.ok[val_idx]]
    graph = LabelGraph.from_labels(ds.labels[train_idx], cfg.tau, cfg.p)
    edge_index, edge_weight = graph.edges()
    model = SharedSpaceModel(cfg, feats.img.shape[1], feats.txt.shape[1], feats.label_inputs, edge_index, edge_weight)
    losses = _losses(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    img, txt = torch.as_tensor(feats.img), torch.as_tensor(feats.txt)
    Y, pseudo_emb = torch.as_tensor(ds.labels), torch.as_tensor(feats.pseudo)
    result = TrainResult(model, graph)
    best, best_state, stale = -1.0, None, 0
    w_labels = selection_weight(cfg)
    for epoch in range(1, cfg.epochs + 1):
        started = time.perf_counter()
        model.train()
        order = rng.permutation(train_idx)
        total, batches = 0.0, 0
        for start in range(0, len(order), cfg.batch_size):
            b = torch.as_tensor(order[start : start + cfg.batch_size])
            if len(b) < 2:
                continue
            out = model(img[b], txt[b], Y[b], pseudo_emb[b] @ pseudo_emb[b].T)
            loss = sum(w * fn(out) for w, fn in losses)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach())
            batches += 1
        val, val_labels, score = validation_score(model, ds, feats, val_idx, w_labels)
        log = EpochLog(epoch, total / max(batches, 1), val, time.perf_counter() - started, val_labels, score)
        result.history.append(log)
        if on_epoch:
            on_epoch(log, cfg.epochs)
        if score > best:
            best, best_state, stale, result.best_epoch = score, copy.deepcopy(model.state_dict()), 0, epoch
        else:
            stale += 1
            if stale >= cfg.patience:
                break
        if should_stop and should_stop():
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return result


def validation_score(
    model: SharedSpaceModel, ds: Dataset, feats: Features, idx: np.ndarray, w_labels: float
) -> tuple[float, float, float]:
    """(retrieval mAP both ways, the classifiers' label-query mAP, their mix at `w_labels`) on photos `idx`: what
    early stopping and the residual ratio are chosen by."""
    zi, zt = project(model, feats.img[idx], feats.txt[idx])
    val = retrieval_report(zi, zt, ds.labels[idx])["map_avg"]
    with torch.no_grad():
        val_labels = label_query_map(model.classifiers().numpy(), zi, ds.labels[idx])
    return val, val_labels, (1 - w_labels) * val + w_labels * val_labels


# The residual ratios a residual-head checkpoint may serve (`choose_residual`), beside the one it was trained at.
# CLIP-Adapter found 0.2 best for generic categories and more for fine-grained ones (the adapter knows more there).
RESIDUAL_RATIOS = (0.05, 0.1, 0.2, 0.35, 0.5)


def choose_residual(
    model: SharedSpaceModel, ds: Dataset, feats: Features, split: str = "val"
) -> tuple[float, dict[float, float]]:
    """The residual ratio (of RESIDUAL_RATIOS and the trained one) whose heads score best on `split` by the training's
    own validation score (retrieval mixed with label queries, `selection_weight`); the smaller ratio (nearer the
    backbone) wins ties. The model is left serving it. Returns (ratio, each ratio's score)."""
    idx = ds.split(split)
    idx = idx[feats.ok[idx]]
    w_labels = selection_weight(model.cfg)
    scores: dict[float, float] = {}
    for ratio in sorted({*RESIDUAL_RATIOS, float(model.cfg.residual)}):
        model.set_residual_ratio(ratio)
        scores[ratio] = validation_score(model, ds, feats, idx, w_labels)[2]
    best = max(sorted(scores), key=lambda r: scores[r])  # max keeps the first (smallest) of equals
    model.set_residual_ratio(best)
    return best, scores


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


def logit_scale(cfg: TrainConfig) -> float:
    """The factor the classification loss puts on z · Hᵀ (`multilabel.scale`): baked into the saved classifiers, so
    a checkpoint's sigmoid(z · Hᵀ) is the probability the model was trained to give."""
    if "multilabel" not in cfg.losses:  # no classification loss: the classifiers were never read as logits
        return 1.0
    return float(cfg.losses["multilabel"].get("scale", MultiLabelLoss.DEFAULT_SCALE))


def checkpoint_tensors(result: TrainResult) -> dict[str, np.ndarray]:
    m = result.model
    scale = logit_scale(m.cfg)
    tensors: dict[str, np.ndarray] = {}
    for which in ("img", "txt"):
        for n, (w, b) in enumerate(m.head_arrays(which)):
            tensors[f"{which}_head.{n}.weight"], tensors[f"{which}_head.{n}.bias"] = w, b
    with torch.no_grad():
        tensors["classifiers"] = scale * m.classifiers().cpu().numpy()
    tensors["label_inputs"] = m.label_inputs.cpu().numpy()
    if m.gcn is not None:
        with torch.no_grad():
            messages, bias = m.gcn.last_layer_parts(m.label_inputs, m.edge_index, m.edge_weight)
        tensors["gcn.messages"] = scale * messages.detach().cpu().numpy()
        tensors["gcn.bias"] = scale * bias.detach().cpu().numpy()
        tensors["gcn.adjacency"] = result.graph.normalized.astype(np.float32)
    return tensors


# -- the demo backbone: a small open_clip model trained from scratch (CLIP loss) ---------------
def train_backbone(
    model: Any,
    tokenizer: Any,
    ds: Dataset,
    pixels: np.ndarray,
    epochs: int,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    on_epoch: Callable[[int, float], None] | None = None,
) -> Any:
    """Contrastive image–caption training of an open_clip `model` on the dataset's train split.

    pixels: uint8 (N, S, S, 3) of every dataset image (already decoded); augmentation: random flips.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    idx = ds.split("train")
    tokens = tokenizer(ds.captions)
    mean = torch.tensor(OPENAI_MEAN).view(1, 3, 1, 1) * 255
    std = torch.tensor(OPENAI_STD).view(1, 3, 1, 1) * 255
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.1)
    steps = epochs * max(1, len(idx) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(steps, 1), pct_start=0.1)
    model.train()
    for epoch in range(1, epochs + 1):
        order, total, n = rng.permutation(idx), 0.0, 0
        for start in range(0, len(order) - batch_size + 1, batch_size):
            b = order[start : start + batch_size]
            x = torch.from_numpy(pixels[b]).permute(0, 3, 1, 2).float()
            flip = torch.from_numpy(rng.random(len(b)) < 0.5)
            x[flip] = x[flip].flip(-1)
            img = torch.nn.functional.normalize(model.encode_image((x - mean) / std), dim=-1)
            txt = torch.nn.functional.normalize(model.encode_text(tokens[b]), dim=-1)
            scale = model.logit_scale.exp().clamp(max=100)
            logits = scale * img @ txt.T
            # Captions of items with the same label set are not negatives of each other.
            same = torch.as_tensor((ds.labels[b] @ ds.labels[b].T) == ds.labels[b].sum(1)[:, None]) & torch.as_tensor(
                (ds.labels[b] @ ds.labels[b].T) == ds.labels[b].sum(1)[None, :]
            )
            target = same.float() / same.float().sum(1, keepdim=True)
            loss = (
                torch.sum(-target * logits.log_softmax(1), 1).mean()
                + torch.sum(-target.T * logits.T.log_softmax(1), 1).mean()
            ) / 2
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total, n = total + float(loss.detach()), n + 1
        if on_epoch:
            on_epoch(epoch, total / max(n, 1))
    model.eval()
    return model
