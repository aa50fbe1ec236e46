"""Modality discriminator loss (BCE image = 1, text = 0); the gradient-reversal layer sits in the model."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import Forward, zero_like


class AdversarialLoss(nn.Module):
    def forward(self, out: Forward) -> torch.Tensor:
        if out.modality_logits is None:
            return zero_like(out.img)
        b = out.img.shape[0]
        target = torch.cat([torch.ones(b), torch.zeros(b)]).to(out.modality_logits)
        return F.binary_cross_entropy_with_logits(out.modality_logits, target)
