"""USSL's three InfoNCE losses: isomorphic (sample ↔ its label-set node), intra- and inter-modality."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import Forward, zero_like


def multi_positive_nce(sim: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """Mean over rows with a positive of −mean_{p∈pos} log softmax(sim)_p."""
    log_prob = F.log_softmax(sim, dim=1)
    n_pos = pos.sum(1)
    per_row = -(log_prob * pos).sum(1) / n_pos.clamp_min(1)
    valid = n_pos > 0
    return per_row[valid].mean() if bool(valid.any()) else zero_like(sim)


class IsomorphicLoss(nn.Module):
    """A sample against the label-set nodes of the batch: its own set's node is the positive."""

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        self.temperature = temperature

    def forward(self, out: Forward) -> torch.Tensor:
        if out.set_nodes is None:
            return zero_like(out.img)
        same_set = (out.labels[:, None, :] == out.labels[None, :, :]).all(-1)
        nodes = F.normalize(out.set_nodes, dim=-1)
        # Duplicate label sets in a batch are one node: positives are every copy of the sample's own set.
        losses = [multi_positive_nce(z @ nodes.T / self.temperature, same_set) for z in (out.img, out.txt)]
        return torch.stack(losses).mean()


class IntraModalityLoss(nn.Module):
    """Within each modality, samples sharing a label are positives (supervised contrastive)."""

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        self.temperature = temperature

    def forward(self, out: Forward) -> torch.Tensor:
        b = out.img.shape[0]
        eye = torch.eye(b, dtype=torch.bool, device=out.img.device)
        pos = out.shares_label() & ~eye
        losses = []
        for z in (out.img, out.txt):
            sim = (z @ z.T / self.temperature).masked_fill(eye, -1e4)  # a sample is not its own candidate
            losses.append(multi_positive_nce(sim, pos))
        return torch.stack(losses).mean()


class InterModalityLoss(nn.Module):
    """Image i against all texts: its paired text is the positive (and back)."""

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        self.temperature = temperature

    def forward(self, out: Forward) -> torch.Tensor:
        sim = out.img @ out.txt.T / self.temperature
        target = torch.arange(sim.shape[0], device=sim.device)
        return (F.cross_entropy(sim, target) + F.cross_entropy(sim.T, target)) / 2
