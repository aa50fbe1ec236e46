"""Losses: one nn.Module per file, one call shape: `loss(out: Forward) -> scalar tensor`.

`Forward` carries everything a loss may read (embeddings of both modalities, labels, the GCN label
classifiers, modality logits, caption pseudo-similarities); each loss reads what it needs, and a batch with
nothing to learn from (e.g. no positive pair) gives a differentiable zero.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from .adversarial import AdversarialLoss
from .base import Forward
from .circle_soft import CircleSoftLoss
from .kendall import KendallLoss
from .multilabel import MultiLabelLoss
from .triplet_sn import TripletSNLoss
from .ussl import InterModalityLoss, IntraModalityLoss, IsomorphicLoss

REGISTRY: dict[str, type[nn.Module]] = {
    "circle_soft": CircleSoftLoss,
    "multilabel": MultiLabelLoss,
    "adversarial": AdversarialLoss,
    "isomorphic": IsomorphicLoss,
    "intra": IntraModalityLoss,
    "inter": InterModalityLoss,
    "triplet_sn": TripletSNLoss,
    "kendall": KendallLoss,
}


def build_loss(name: str, **params: Any) -> nn.Module:
    if name not in REGISTRY:
        raise ValueError(f"unknown loss {name!r}; known: {', '.join(REGISTRY)}")
    return REGISTRY[name](**params)


__all__ = ["Forward", "REGISTRY", "build_loss", *[cls.__name__ for cls in REGISTRY.values()]]
