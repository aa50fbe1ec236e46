""".xmr checkpoints: one safetensors file (never pickle) whose metadata holds a JSON model card.

Tensors: img_head.{i}.weight/bias, txt_head.{i}.weight/bias, classifiers (C, d), label_inputs (C, d_in),
and, when the backbone was trained with it, backbone.* (the open_clip state dict); cache.keys (N, d_img) and
cache.labels (N, C): the training photos' backbone vectors and labels, only when suggestions or label queries use
them (card "suggest", "label_queries": `cache.LabelCache`).
Card: format/version, backbone (model, config_json, weights or "embedded", identity), labels, graph (τ, p,
counts), dims, training config, metrics, dataset fingerprint, and the blend: the share of the backbone's own
space in the one a library searches (`space.blend`, chosen on validation; a card without it serves the learned
space alone, as before).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np

from ..base.files import atomic_write
from ..runtime.card import FORMAT, FORMAT_VERSION, CheckpointError, ModelCard, read_card
from ..runtime.spec import ModelError, ModelSpec
from .cache import LabelCache
from .heads import BlendedSpace, CheckpointSpace

__all__ = ["Checkpoint", "CheckpointError", "ModelCard", "choose_backbone", "read_card", "save_checkpoint"]


def save_checkpoint(path: str | os.PathLike[str], tensors: dict[str, np.ndarray], card: ModelCard) -> Path:
    from safetensors.numpy import save_file

    card = {"format": FORMAT, "format_version": FORMAT_VERSION, **card}

    def write(tmp: Path) -> None:
        save_file(
            {k: np.ascontiguousarray(v) for k, v in tensors.items()},
            str(tmp),
            metadata={"format": FORMAT, "xmr_card": json.dumps(card)},
        )
        os.chmod(tmp, 0o644)  # a model file to share, not a secret

    return atomic_write(path, write)


@dataclass
class Checkpoint:
    path: Path
    card: ModelCard
    tensors: dict[str, np.ndarray]

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Checkpoint:
        path = Path(path)
        card = read_card(path)
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        try:
            tensors = {k: v for k, v in load_file(str(path)).items() if not k.startswith("backbone.")}
        except (SafetensorError, OSError, ValueError) as exc:
            raise CheckpointError(f"{path}: tensors are unreadable or truncated ({exc})") from None
        ckpt = cls(path, card, tensors)
        ckpt._validate()
        return ckpt

    def _validate(self) -> None:
        labels, dims = self.card.get("labels"), self.card.get("dims") or {}  # JSON from a file: checked here
        need = {"classifiers", "img_head.0.weight", "txt_head.0.weight"}
        missing = need - set(self.tensors)
        if missing or not isinstance(labels, list):
            raise CheckpointError(
                f"{self.path}: incomplete checkpoint (missing {', '.join(sorted(missing)) or 'labels'})"
            )
        C, d = self.tensors["classifiers"].shape
        if C != len(labels) or d != dims.get("dim"):
            raise CheckpointError(
                f"{self.path}: classifiers have shape {C}×{d}, but the card says "
                f"{len(labels)} labels × {dims.get('dim')} dims"
            )
        residual = dims.get("residual", 0.0)
        if not _number(residual) or not 0.0 <= residual < 1.0:
            raise CheckpointError(f"{self.path}: the card's residual ratio is not a number from 0 to below 1")
        if residual > 0 and not dims.get("d_img") == dims.get("d_txt") == d:
            raise CheckpointError(f"{self.path}: residual heads must keep the backbone's dims")
        for which in ("img", "txt"):
            layers = self._head(which)
            if layers[0][0].shape[1] != dims.get(f"d_{which}") or layers[-1][0].shape[0] != d:
                raise CheckpointError(f"{self.path}: {which} head shapes do not match the card's dims")
            for w, b in layers:
                if w.shape[0] != b.shape[0]:
                    raise CheckpointError(f"{self.path}: {which} head weight/bias shapes disagree")
        blend = self.card.get("blend")
        if blend is not None:
            share = blend.get("backbone_share") if isinstance(blend, dict) else None
            if not _number(share) or not 0.0 <= share <= 1.0:
                raise CheckpointError(f"{self.path}: the card's backbone share is not a number from 0 to 1")
            inputs = self.tensors.get("label_inputs")
            same = dims.get("d_img") == dims.get("d_txt") and inputs is not None and inputs.shape[1] == dims["d_img"]
            if share > 0 and not same:  # the backbone's images and texts must share one space to be blended
                raise CheckpointError(f"{self.path}: a blended checkpoint needs one backbone space for both sides")
        keys, key_labels = self.tensors.get("cache.keys"), self.tensors.get("cache.labels")
        if (keys is None) != (key_labels is None) or (
            keys is not None
            and key_labels is not None
            and (keys.shape[1] != dims.get("d_img") or key_labels.shape != (keys.shape[0], C))
        ):
            raise CheckpointError(f"{self.path}: the cache of training photos has the wrong shape")
        suggest = self.card.get("suggest")
        if suggest is not None:
            weight, beta = (
                suggest.get(k) if isinstance(suggest, dict) else None for k in ("cache_weight", "cache_beta")
            )
            if not (_number(weight) and _number(beta) and 0 <= cast(float, weight) < 1 and cast(float, beta) > 0):
                raise CheckpointError(f"{self.path}: the card's cache weight (0 to 1) or β (> 0) is wrong")
            version = suggest.get("thresholds_version", 1)
            if not _number(version) or version != int(version) or version < 1:
                raise CheckpointError(f"{self.path}: the card's thresholds version is not a whole number from 1")

        queries = self.card.get("label_queries")
        if queries is not None:
            weight, beta = (queries.get(k) if isinstance(queries, dict) else None for k in ("vote_weight", "vote_beta"))
            if not (_number(weight) and _number(beta) and 0 <= cast(float, weight) <= 1 and cast(float, beta) > 0):
                raise CheckpointError(f"{self.path}: the card's label-query vote weight (0 to 1) or β (> 0) is wrong")
            if cast(float, weight) > 0 and keys is None:
                raise CheckpointError(f"{self.path}: the card's label queries need the training photos' cache")

    def _head(self, which: str) -> list[tuple[np.ndarray, np.ndarray]]:
        layers, i = [], 0
        while f"{which}_head.{i}.weight" in self.tensors or i < 8:
            if f"{which}_head.{i}.weight" in self.tensors:
                layers.append((self.tensors[f"{which}_head.{i}.weight"], self.tensors[f"{which}_head.{i}.bias"]))
            i += 1
        return layers

    @property
    def labels(self) -> list[str]:
        return list(self.card["labels"])

    def backbone_spec(self) -> ModelSpec:
        b = self.card["backbone"]
        weights = str(self.path.resolve()) if b.get("weights") == "embedded" else b["weights"]
        return ModelSpec(model=b["model"], weights=weights, config_json=b.get("config_json"))

    @property
    def identity(self) -> str:
        h = hashlib.sha256()
        for k in sorted(self.tensors):
            h.update(k.encode())
            h.update(self.tensors[k].tobytes())
        return f"ckpt:{h.hexdigest()[:16]}"

    def space(self, backbone_identity: str | None = None, with_cache: bool = True) -> CheckpointSpace | BlendedSpace:
        """The space a library searches: the learned space, blended with the backbone's by the card's share; its
        suggestions mixed with the training photos' vote (`cache.LabelCache`) when the card chose that."""
        learned = self.learned_space(backbone_identity)
        share = self.backbone_share
        space: CheckpointSpace | BlendedSpace = learned  # at share 0 its identity, hence its index, is as before
        if share > 0.0:
            space = BlendedSpace(learned, share, self.tensors["label_inputs"])
        suggest = self.card.get("suggest")
        if with_cache and suggest is not None and suggest["cache_weight"] > 0 and "cache.keys" in self.tensors:
            keys = space.images(self.tensors["cache.keys"].astype(np.float32))
            labels = self.tensors["cache.labels"].astype(np.float32)
            space.cache = LabelCache(keys, labels, float(suggest["cache_weight"]), float(suggest["cache_beta"]))
        queries = self.card.get("label_queries")
        vote = float(queries["vote_weight"]) if queries is not None else 0.0  # checked by _validate
        if with_cache and vote > 0 and "cache.keys" in self.tensors and queries is not None:
            keys = space.images(self.tensors["cache.keys"].astype(np.float32))
            labels = self.tensors["cache.labels"].astype(np.float32)
            space.query_vote = LabelCache(keys, labels, vote, float(queries["vote_beta"]))
            space.classifier_queries = self._gate(voted=True)  # the vote's measurement ("served") decides
        cuts = suggest.get("thresholds") if suggest is not None else None
        if isinstance(cuts, list) and len(cuts) == len(self.labels):
            space.thresholds = np.asarray(cuts, np.float32)
            if suggest is not None and suggest.get("thresholds_version", 1) >= 2:  # shrunk: served by default
                space.suggest_thresholds = "per-label"
        overall = suggest.get("global_threshold") if suggest is not None else None
        if isinstance(overall, (int, float)):
            space.global_threshold = float(overall)
        return space

    @property
    def backbone_share(self) -> float:
        """The card's share of the backbone space in the served one (`space.blend`); 0 for a card without it."""
        blend = self.card.get("blend")
        return 0.0 if blend is None else float(blend["backbone_share"])  # checked by _validate

    def learned_space(self, backbone_identity: str | None = None) -> CheckpointSpace:
        """The trained heads and classifiers alone (the served space at share 0)."""
        gcn = None
        if {"gcn.adjacency", "gcn.messages", "gcn.bias"} <= set(self.tensors):
            gcn = {k.removeprefix("gcn."): self.tensors[k] for k in ("gcn.adjacency", "gcn.messages", "gcn.bias")}
        return CheckpointSpace(
            self.identity,
            backbone_identity or self.card["backbone"]["identity"],
            self._head("img"),
            self._head("txt"),
            self.labels,
            self.tensors["classifiers"],
            gcn,
            self.classifier_queries,
            self.residual,
        )

    @property
    def residual(self) -> float:
        """The residual heads' ratio (`model.ResidualHead`); 0 for plain heads."""
        return float((self.card.get("dims") or {}).get("residual", 0.0))  # checked by _validate

    @property
    def classifier_queries(self) -> bool:
        """Whether a query naming a label is answered with its classifier rather than its text vector, without the
        training photos' vote (`space` re-decides with it where it serves the vote), by the card's measurement on the
        validation split (`classifiers_answer`; the test split's is kept to report, not to decide). A card without
        it (trained before it was measured) is taken at its word: classifiers."""
        return self._gate(voted=False)

    def _gate(self, voted: bool) -> bool:
        measured = (self.card.get("metrics") or {}).get("label_queries_val")
        if not isinstance(measured, dict):
            return True
        text_start = bool((self.card.get("train_config") or {}).get("text_classifiers", False))
        try:
            return classifiers_answer(measured, text_start, voted)
        except (KeyError, TypeError, ValueError):
            return True


def _number(value: object) -> bool:
    """A finite JSON number (not a bool, which Python counts as an int)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# How much better (validation mAP) classifiers trained from scratch must be for a label query to use them: on ties
# the plain text vector answers. Measured on 176 real photos (bench/RESULTS.md): l2gcn's gate opened at 0.292 vs
# 0.288 and 0.358 vs 0.353 and lost on test both times (0.140 vs 0.163, 0.167 vs 0.191); USSL's margins there are
# 0.19-0.23, the demo checkpoint's 0.13. Classifiers that start at the labels' own text vectors (ML-GCN's,
# `text_classifiers`) are that text vector plus what training added, so on ties they answer: the margin is 0
# (bench/RESULTS.md, "The labelled photos vote in label queries": decided on four splits, confirmed on four others).
CLASSIFIER_MARGIN = 0.02


def classifiers_answer(measured: dict[str, float], text_start: bool = False, voted: bool = True) -> bool:
    """From a card's label-query numbers (`serving.label_query_report`): do the classifiers answer label queries?
    `voted`: as served, with the training photos' vote when the card chose it ("served"; cards from before it:
    "combined"); else without it ("combined": `label:NAME` terms, queries naming several labels, a space without
    the vote). `text_start`: the classifiers started at the labels' text vectors (ties go to them)."""
    margin = 0.0 if text_start else CLASSIFIER_MARGIN
    mixed = answered_label_queries(measured, True) if voted else float(measured["combined"])
    return mixed >= float(measured["text"]) + margin


def answered_label_queries(
    measured: dict[str, float], by_classifiers: bool | None = None, text_start: bool = False
) -> float:
    """The label-query mAP of how a checkpoint answers them, from a card's numbers: its classifiers' ("served", or
    "combined" on cards from before the vote) when they answer (`classifiers_answer`), else its text vectors'."""
    if by_classifiers is None:
        by_classifiers = classifiers_answer(measured, text_start)
    if not by_classifiers:
        return float(measured["text"])
    return float(measured.get("served", measured["combined"]))


def choose_backbone(checkpoint: str | os.PathLike[str] | None, model: ModelSpec | None) -> ModelSpec:
    """The backbone that encodes a library: a checkpoint's own when one is given (its heads were trained on that
    backbone's vectors, so it overrides `model`), else `model`. `xmr index`, the window's session and the demo all
    decide here; the precision is decided later, by `runtime.prepare.prepare_model`."""
    if checkpoint is not None:
        return Checkpoint.load(checkpoint).backbone_spec()
    if model is None:
        raise ModelError("no model chosen: open a checkpoint or pick a model")
    return model
