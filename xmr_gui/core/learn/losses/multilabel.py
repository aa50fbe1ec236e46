"""Multi-label classification with the GCN label embeddings as classifiers: BCE(z · Hᵀ, y), both modalities."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import Forward, zero_like


class MultiLabelLoss(nn.Module):
    """BCE of scale · z · Hᵀ against the labels, both modalities.

    `scale` multiplies the logits: z is a unit vector, so without it z · H stays within ±|H| (±1-2 in practice) and
    the classifiers learn slowly; 10 is the temperature the contrastive losses use (1 / 0.1). On 176 real photos
    (bench/RESULTS.md, "The label-graph model on real labels") it and the mixed early stopping took l2gcn's top-3
    suggestions from 0.28 to 0.54."""

    DEFAULT_SCALE = 10.0

    def __init__(self, scale: float = DEFAULT_SCALE) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, out: Forward) -> torch.Tensor:
        if out.classifiers is None:
            return zero_like(out.img)
        losses = [
            F.binary_cross_entropy_with_logits(self.scale * z @ out.classifiers.T, out.labels)
            for z in (out.img, out.txt)
        ]
        return torch.stack(losses).mean()
