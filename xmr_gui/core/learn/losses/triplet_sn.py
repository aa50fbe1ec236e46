"""BCLS's triplet loss with soft negatives: hardest-negative hinge (VSE++) where a negative whose caption is
similar to the anchor's (high pseudo-label) counts less, by weight 1 − max(pseudo, 0)."""

from __future__ import annotations

import torch
from torch import nn

from .base import Forward


class TripletSNLoss(nn.Module):
    def __init__(self, margin: float = 0.2) -> None:
        super().__init__()
        self.margin = margin

    def forward(self, out: Forward) -> torch.Tensor:
        sim = out.img @ out.txt.T
        b = sim.shape[0]
        eye = torch.eye(b, dtype=torch.bool, device=sim.device)
        weight = torch.ones_like(sim) if out.pseudo is None else 1 - out.pseudo.clamp(0, 1)
        positive = sim.diag()
        i2t = (self.margin + sim - positive[:, None]).clamp_min(0) * weight
        t2i = (self.margin + sim - positive[None, :]).clamp_min(0) * weight
        i2t = i2t.masked_fill(eye, 0).max(dim=1).values
        t2i = t2i.masked_fill(eye, 0).max(dim=0).values
        return (i2t.sum() + t2i.sum()) / (2 * b)
