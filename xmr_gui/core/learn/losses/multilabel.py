"""Multi-label classification with the GCN label embeddings as classifiers: BCE(z · Hᵀ, y), both modalities."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import Forward, zero_like


class MultiLabelLoss(nn.Module):
    """`scale` multiplies the logits: z is a unit vector, so without it z · H stays within ±|H| (±1-2 in practice)
    and the classifiers learn slowly; 10 is the temperature the contrastive losses use (1 / 0.1). Measured on 176
    real photos (bench/RESULTS.md, "The label-graph model on real labels"): top-3 suggestions 0.17 → 0.49 (l2gcn)."""

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
