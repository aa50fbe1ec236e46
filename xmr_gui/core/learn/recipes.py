"""`xmr train` / `xmr eval` as library calls: dataset → (backbone) → cached features → shared space → .xmr."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..runtime.card import BackboneCard, ModelCard
from ..runtime.factory import load_encoder
from ..runtime.images import load_pixels
from ..runtime.spec import ModelSpec
from .cache import PRECISION_TARGET
from .calibrate import THRESHOLDS_VERSION, calibrate
from .checkpoint import Checkpoint, save_checkpoint
from .dataset import Dataset, DatasetError, compute_features
from .evaluate import retrieval_report
from .keywords import captions_are_labels
from .model import ConfigError, TrainConfig
from .serving import (
    LABEL_CAPTIONS_MIN_SHARE,
    cache_keys,
    calibration_scores,
    choose_blend,
    choose_cache,
    choose_query_vote,
    evaluate_split,
    label_query_report,
    zero_shot,
)
from .train import EpochLog, checkpoint_tensors, choose_residual, logit_scale, train_backbone, train_space

Say = Callable[[str], None]


def apply_overrides(cfg: TrainConfig, pairs: Sequence[str]) -> TrainConfig:
    """`cfg` with KEY=VALUE overrides (`xmr train --set`): a field (`epochs=30`) or a loss parameter
    (`circle_soft.lam=0.25`, which adds that loss at weight 1 when the config lacks it).

    VALUE is read as JSON when it looks like a number, true/false/null, a list or an object, else as a string.
    """
    changes = cfg.to_dict()  # a deep copy: `cfg` is left as it was
    fields = {f.name for f in dataclasses.fields(cfg)}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise ConfigError(f"--set takes KEY=VALUE, not {pair!r}")
        try:
            value = json.loads(raw) if raw.strip()[:1] in "-0123456789tfn[{" else raw
        except ValueError as exc:
            raise ConfigError(f"--set {pair!r}: the value is not valid JSON ({exc})") from None
        if "." in key:
            loss, param = key.split(".", 1)
            changes["losses"].setdefault(loss, {"weight": 1.0})[param] = value
        elif key in fields:
            changes[key] = value
        else:
            raise ConfigError(f"unknown hyper-parameter {key!r} (see `xmr train --help`)")
    return TrainConfig(**changes)


def with_resolved_scale(cfg: TrainConfig) -> TrainConfig:
    """`cfg` with the multilabel loss's logit scale written out when it relies on the default (older cards, trained
    at scale 1, have none: their saved classifiers are unscaled alike)."""
    if "multilabel" not in cfg.losses or "scale" in cfg.losses["multilabel"]:
        return cfg
    changes = cfg.to_dict()
    changes["losses"]["multilabel"]["scale"] = logit_scale(cfg)
    return TrainConfig(**changes)


def _tensor_sha(state: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for k in sorted(state):
        h.update(k.encode())
        h.update(np.ascontiguousarray(state[k]).tobytes())
    return h.hexdigest()


def _backbone_from_scratch(spec: ModelSpec, ds: Dataset, epochs: int, say: Say) -> tuple[Any, dict[str, Any]]:
    from ..runtime.clip_torch import TorchClipEncoder, build_model

    model = build_model(ModelSpec(spec.model, "random", spec.config_json))
    size = int(
        model.visual.image_size[0] if isinstance(model.visual.image_size, (tuple, list)) else model.visual.image_size
    )
    with ThreadPoolExecutor(max_workers=2) as pool:
        pixels = np.stack(list(pool.map(lambda f: load_pixels(ds.root / f, size), ds.files)))
    import open_clip

    tokenizer = open_clip.get_tokenizer(spec.model)
    train_backbone(
        model,
        tokenizer,
        ds,
        pixels,
        epochs,
        on_epoch=lambda e, loss: say(f"backbone epoch {e}/{epochs}: contrastive loss {loss:.4f}"),
    )
    # Shipped in fp16 (half the size); round the live model the same way so the features the heads are trained
    # on are exactly the ones a user's index will get from the checkpoint.
    import torch

    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(t.half().float())
    state = {
        k: (v.detach().cpu().numpy().astype(np.float16) if v.is_floating_point() else v.detach().cpu().numpy())
        for k, v in model.state_dict().items()
    }
    sha = _tensor_sha(state)
    embedded = ModelSpec(spec.model, "embedded.xmr", spec.config_json)
    encoder = TorchClipEncoder(embedded, model=model, identity=embedded.with_embedded_weights(sha))
    return encoder, {"state": state, "sha": sha}


@dataclass(frozen=True)
class TrainingResult:
    """What `train_checkpoint` measured (also written into the checkpoint's card as its "metrics")."""

    test: dict[str, float]  # retrieval metrics of the served (blended) space on the test split (`report_split`)
    zero_shot_test: dict[str, float]  # the raw backbone on the same split: the baseline
    label_queries_val: dict[str, float]  # label-query mAP (classifier / text / combined / served / zero_shot);
    label_queries_test: dict[str, float]  # decides Checkpoint.classifier_queries on val
    best_epoch: int
    epochs_run: int
    seconds_per_epoch: float
    train_items: int
    backbone_share: float = 0.0  # the blend served (space.blend), chosen on validation retrieval
    blend_least: float = 0.0  # the least share it could choose (serving.LABEL_CAPTIONS_MIN_SHARE: captions were labels)
    report_split: str = "test"  # what `test` and `label_queries_test` were measured on ("val" when there is no test)
    blend_val: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)  # share → validation report
    cache_weight: float = 0.0  # the training photos' vote in suggestions (cache.py), chosen on validation
    cache_beta: float = 0.0
    suggest_val: dict[str, float] = dataclasses.field(default_factory=dict)  # label-ranking AP on validation
    residual_ratio: float = 0.0  # the residual heads' ratio served (model.ResidualHead), chosen on validation
    residual_val: dict[str, float] = dataclasses.field(default_factory=dict)  # ratio → validation score
    query_vote_weight: float = 0.0  # the training photos' vote in label queries (cache.py), chosen on validation
    query_vote_beta: float = 1.0
    query_vote_val: dict[str, float] = dataclasses.field(default_factory=dict)  # label-query mAP on validation

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validation(self, share: float) -> dict[str, float]:
        """Validation retrieval at a backbone share: 1 is the untrained backbone, 0 the learned space alone."""
        return self.blend_val[f"{share:g}"]


def train_checkpoint(
    dataset: str | os.PathLike[str],
    cfg: TrainConfig,
    out: str | os.PathLike[str],
    spec: ModelSpec,
    backbone_epochs: int = 0,
    device: str = "auto",
    say: Say = print,
    on_epoch: Callable[[EpochLog, int], None] | None = None,
) -> TrainingResult:
    """Train and write a checkpoint; returns its metrics (on the test split, or validation for a dataset without one:
    `TrainingResult.report_split`; beside the zero-shot baseline)."""
    ds = Dataset.load(dataset)
    backbone: dict[str, Any] | None = None
    if backbone_epochs > 0:
        encoder, backbone = _backbone_from_scratch(spec, ds, backbone_epochs, say)
    else:
        encoder = load_encoder(spec, device)
    say(f"features: encoding {len(ds.files)} images and captions with {encoder.identity} (cached)")
    feats = compute_features(ds, encoder)
    typed = encoder.encode_texts(list(ds.label_names))
    cfg = with_resolved_scale(cfg)  # the card names the logit scale the classifiers were trained (and saved) at
    result = train_space(ds, feats, cfg, on_epoch=on_epoch)
    ratio, residual_val = choose_residual(result.model, ds, feats) if cfg.residual > 0 else (0.0, {})
    label_captions = captions_are_labels(
        ds.captions, [{ds.label_names[j] for j in np.flatnonzero(row)} for row in ds.labels]
    )
    floor = LABEL_CAPTIONS_MIN_SHARE if label_captions else 0.0
    share, blend_val = choose_blend(result.model, ds, feats, "val", floor)
    least = floor if len(blend_val) > 1 else 0.0  # no blend possible: no floor held
    w, beta, suggest_val = choose_cache(result.model, ds, feats, share)
    calibrated = calibrate(*calibration_scores(result.model, ds, feats, share, w, beta))
    qw, qbeta, query_val = choose_query_vote(result.model, ds, feats, share, typed)
    # a dataset read from keywords or folders has no test split (keywords.SPLITS): its report is on validation
    test = ds.split("test")
    report = "test" if feats.ok[test].any() else "val"
    metrics = TrainingResult(
        test=evaluate_split(result.model, ds, feats, report, share),
        zero_shot_test=zero_shot(ds, feats, report),
        # decides Checkpoint.classifier_queries; the labels as typed, as `xmr search LABEL` encodes them
        label_queries_val=label_query_report(result.model, ds, feats, "val", typed, share, (qw, qbeta)),
        label_queries_test=label_query_report(result.model, ds, feats, report, typed, share, (qw, qbeta)),
        report_split=report,
        best_epoch=result.best_epoch,
        epochs_run=len(result.history),
        seconds_per_epoch=float(np.mean([h.seconds for h in result.history])),
        train_items=int(len(ds.split("train"))),
        backbone_share=share,
        blend_least=least,
        blend_val={f"{a:g}": measured for a, measured in blend_val.items()},
        cache_weight=w,
        cache_beta=beta,
        suggest_val=suggest_val,
        residual_ratio=ratio,
        residual_val={f"{r:g}": v for r, v in residual_val.items()},
        query_vote_weight=qw,
        query_vote_beta=qbeta,
        query_vote_val=query_val,
    )
    tensors = checkpoint_tensors(result)
    if w > 0 or qw > 0:  # only then does the checkpoint carry its training photos' vectors
        train_idx = ds.split("train")
        train_idx = train_idx[feats.ok[train_idx]]
        tensors["cache.keys"] = cache_keys(feats.img[train_idx]).astype(np.float16)
        tensors["cache.labels"] = ds.labels[train_idx].astype(np.uint8)
    b_card: BackboneCard = {
        "model": spec.model,
        "config_json": spec.config_json,
        "identity": encoder.identity,
        "weights": spec.weights,
    }
    if backbone is not None:
        b_card["weights"], b_card["weights_sha256"] = "embedded", backbone["sha"]
        tensors.update({f"backbone.{k}": v for k, v in backbone["state"].items()})
    card: ModelCard = {
        "backbone": b_card,
        "labels": ds.label_names,
        "graph": {"tau": cfg.tau, "p": cfg.p, "counts": result.graph.counts.tolist()},
        "dims": {"d_img": int(feats.img.shape[1]), "d_txt": int(feats.txt.shape[1]), "dim": result.model.dim},
        "train_config": cfg.to_dict(),
        "metrics": metrics.to_json(),
        "dataset": {"fingerprint": ds.fingerprint, "items": len(ds.files)},
        "blend": {
            "backbone_share": share,
            "val_map": {k: v["map_avg"] for k, v in metrics.blend_val.items()},
            "least": least,  # the least share allowed: captions that are only labels (serving.choose_blend)
        },
        "suggest": {
            "cache_weight": w,
            "cache_beta": beta,
            "val": suggest_val,
            # calibrated for a precision target on the training (own vote left out) and validation photos
            # (learn/calibrate.py): one for every label, served by default, and each label's own, shrunk toward it
            "global_threshold": calibrated.global_threshold,
            "thresholds": [round(float(t), 4) for t in calibrated.per_label],
            "thresholds_version": THRESHOLDS_VERSION,
            "pseudo_count": None if np.isinf(calibrated.pseudo_count) else calibrated.pseudo_count,
            "precision_target": PRECISION_TARGET,
        },
        # the training photos' vote in a query naming one label (cache.choose_query_vote), chosen on validation
        "label_queries": {"vote_weight": qw, "vote_beta": qbeta, "val": query_val},
    }
    if ratio > 0:
        card["dims"]["residual"] = ratio
    save_checkpoint(out, tensors, card)
    return metrics


def evaluate_checkpoint(
    path: str | os.PathLike[str], dataset: str | os.PathLike[str], split: str = "test", device: str = "auto"
) -> dict[str, dict[str, float]]:
    """mAP / R@K of a checkpoint on a dataset split, beside the raw backbone on the same split."""
    ckpt = Checkpoint.load(path)
    ds = Dataset.load(dataset)
    if ds.label_names != ckpt.labels:
        raise DatasetError(f"dataset labels differ from the checkpoint's ({len(ds.label_names)} vs {len(ckpt.labels)})")
    if not len(ds.split(split)):
        others = ", ".join(s for s in ("train", "val", "test") if len(ds.split(s)) and s != split)
        raise DatasetError(f"the dataset has no photos in split {split}" + (f" (it has {others})" if others else ""))
    encoder = load_encoder(ckpt.backbone_spec(), device)
    feats = compute_features(ds, encoder)
    idx = ds.split(split)
    idx = idx[feats.ok[idx]]
    space = ckpt.space()
    zi, zt = space.images(feats.img[idx]), space.texts(feats.txt[idx])
    return {"checkpoint": retrieval_report(zi, zt, ds.labels[idx]), "zero_shot": zero_shot(ds, feats, split)}
