"""Multi-label classification with the GCN label embeddings as classifiers: BCE(z · Hᵀ, y), both modalities."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import Forward, zero_like


class MultiLabelLoss(nn.Module):
    def __init__(self, scale: float = 1.0) -> None:
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
