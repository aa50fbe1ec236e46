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
