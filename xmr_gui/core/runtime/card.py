"""The model card of an .xmr checkpoint, read from its safetensors header without loading a tensor.

It lives in the runtime because the runtime needs it: a spec whose weights are a checkpoint's embedded backbone
is named by the hash the card records (`ModelSpec.identity`). Whole checkpoints are learn.checkpoint's.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any, NotRequired, TypedDict, cast

from ..base.errors import XmrError

FORMAT = "xmr-checkpoint"
FORMAT_VERSION = 1
MAX_HEADER = 64 << 20


class CheckpointError(XmrError):
    """A checkpoint that is refused; the message names the problem."""


class BackboneCard(TypedDict):
    """The backbone a checkpoint's heads were trained on."""

    model: str  # open_clip architecture name
    weights: str  # an open_clip tag, a weights file, "random", or "embedded" (its backbone.* tensors)
    identity: str  # the encoder identity its features came from (ModelSpec.identity)
    config_json: NotRequired[str | None]  # the architecture, for models from a JSON config
    weights_sha256: NotRequired[str]  # of the embedded weights: names the backbone without loading it


class DimsCard(TypedDict):
    d_img: int  # backbone image vectors
    d_txt: int  # backbone text vectors
    dim: int  # the shared space
    residual: NotRequired[float]  # heads are residual on the backbone space at this ratio (learn.model.ResidualHead)


class GraphCard(TypedDict):
    """The label graph it was trained with: co-occurrence counts, τ and p (see learn.label_graph)."""

    tau: float
    p: float
    counts: list[list[int]]


class DatasetCard(TypedDict):
    fingerprint: str
    items: int


class BlendCard(TypedDict):
    """How the served space mixes the backbone's with the learned one (learn.space.blend), chosen on validation."""

    backbone_share: float  # a: cosine = a · backbone + (1 − a) · learned
    val_map: dict[str, float]  # validation retrieval mAP (both ways) at each share tried, by str(share)
    least: NotRequired[float]  # the least share it could choose (0.5 when the captions were only labels)


class SuggestCard(TypedDict):
    """How suggestions mix the training photos' vote with the classifiers (learn.cache), chosen on validation."""

    cache_weight: float  # w: (1 − w) × classifiers + w × the cache's vote; 0 = classifiers alone
    cache_beta: float
    val: dict[str, float]  # validation label-ranking AP: "classifiers", "with_cache", "zero_shot"
    # per label, for `precision_target`: version 2 (`thresholds_version`) shrunk toward `global_threshold` on the
    # training and validation photos (learn/calibrate.py); absent version: each label's own on validation alone
    thresholds: NotRequired[list[float]]
    thresholds_version: NotRequired[int]
    global_threshold: NotRequired[float]  # one for every label, for `precision_target` (served by default)
    pseudo_count: NotRequired[float | None]  # how far `thresholds` were pulled toward it (None: all the global one)
    precision_target: NotRequired[float]


class LabelQueriesCard(TypedDict):
    """How a one-label query adds the training photos' vote to its cosine (learn.cache), chosen on validation."""

    vote_weight: float  # w_q: cosine + w_q × the vote share of the label; 0 = no vote
    vote_beta: float
    val: dict[str, float]  # validation label-query mAP: "direct" (no vote), "voted"


class ModelCard(TypedDict):
    """An .xmr checkpoint's model card (JSON in its safetensors metadata); `save_checkpoint` adds the format."""

    backbone: BackboneCard
    labels: list[str]
    dims: DimsCard
    format: NotRequired[str]
    format_version: NotRequired[int]
    graph: NotRequired[GraphCard]
    train_config: NotRequired[dict[str, Any]]  # learn.model.TrainConfig.to_dict()
    metrics: NotRequired[dict[str, Any]]  # learn.recipes.train_checkpoint's: "test", "zero_shot_test", ...
    dataset: NotRequired[DatasetCard]
    blend: NotRequired[BlendCard]  # absent (cards before it): the learned space alone, share 0
    suggest: NotRequired[SuggestCard]  # absent: suggestions from the classifiers alone
    label_queries: NotRequired[LabelQueriesCard]  # absent: label queries without the training photos' vote


def read_card(path: str | os.PathLike[str]) -> ModelCard:
    """The model card alone, from the safetensors header (cheap; validates the header)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise CheckpointError(f"{path} is not an xmr checkpoint: file too short ({size} bytes)")
            (n,) = struct.unpack("<Q", head)
            if n > MAX_HEADER or n + 8 > size:
                raise CheckpointError(
                    f"{path} is not an xmr checkpoint: no valid safetensors header "
                    "(is it a pickle or another format? xmr never unpickles files)"
                )
            header = json.loads(f.read(n))
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: safetensors header is corrupt ({exc})") from None
    meta = header.get("__metadata__") or {} if isinstance(header, dict) else {}
    if meta.get("format") != FORMAT or "xmr_card" not in meta:
        raise CheckpointError(f"{path} is a safetensors file but not an xmr checkpoint (no model card)")
    try:
        card = json.loads(meta["xmr_card"])
    except ValueError as exc:
        raise CheckpointError(f"{path}: model card is not valid JSON ({exc})") from None
    if not isinstance(card, dict):
        raise CheckpointError(f"{path}: model card is not a JSON object")
    version = card.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format v{version}; this xmr reads up to v{FORMAT_VERSION}: upgrade xmr"
        )
    backbone = card.get("backbone")
    if not isinstance(backbone, dict) or not {"model", "weights", "identity"} <= set(backbone):
        raise CheckpointError(f"{path}: the model card names no backbone (model, weights, identity)")
    return cast(ModelCard, card)
