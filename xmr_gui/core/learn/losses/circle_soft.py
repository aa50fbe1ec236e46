"""L2-GCN's Circle-Soft: λ · circle loss over cross-modal pairs + (1 − λ) · soft label-overlap alignment."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import Forward, zero_like


def circle_per_anchor(
    sim: torch.Tensor, pos: torch.Tensor, m: float, gamma: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Circle loss (Sun et al. 2020) of each row of `sim` (B, B'); rows without a positive or negative give 0."""
    neg = ~pos
    alpha_p = torch.clamp_min(1 + m - sim.detach(), 0)
    alpha_n = torch.clamp_min(sim.detach() + m, 0)
    logit_p = -gamma * alpha_p * (sim - (1 - m))
    logit_n = gamma * alpha_n * (sim - m)
    very_neg = torch.finfo(sim.dtype).min / 4
    lse_p = torch.logsumexp(torch.where(pos, logit_p, very_neg), dim=1)
    lse_n = torch.logsumexp(torch.where(neg, logit_n, very_neg), dim=1)
    valid = pos.any(1) & neg.any(1)
    return torch.where(valid, F.softplus(lse_p + lse_n), torch.zeros_like(lse_p)), valid


def soft_targets(labels: torch.Tensor) -> torch.Tensor:
    """Row-normalised Jaccard overlap of label sets."""
    inter = labels @ labels.T
    union = labels.sum(1, keepdim=True) + labels.sum(1)[None, :] - inter
    jac = inter / union.clamp_min(1e-12)
    return jac / jac.sum(1, keepdim=True).clamp_min(1e-12)


class CircleSoftLoss(nn.Module):
    def __init__(self, lam: float = 0.5, margin: float = 0.25, gamma: float = 64.0, temperature: float = 0.1) -> None:
        super().__init__()
        self.lam, self.margin, self.gamma, self.temperature = lam, margin, gamma, temperature

    def circle(self, out: Forward) -> torch.Tensor:
        sim = out.img @ out.txt.T
        pos = out.shares_label()
        total, count = zero_like(sim), 0
        for s in (sim, sim.T):  # image anchors over texts, then text anchors over images
            per, valid = circle_per_anchor(s, pos, self.margin, self.gamma)
            total = total + per.sum()
            count += int(valid.sum())
        return total / max(count, 1)

    def soft(self, out: Forward) -> torch.Tensor:
        sim = out.img @ out.txt.T / self.temperature
        target = soft_targets(out.labels)
        i2t = -(target * F.log_softmax(sim, dim=1)).sum(1).mean()
        t2i = -(target * F.log_softmax(sim.T, dim=1)).sum(1).mean()
        return (i2t + t2i) / 2

    def forward(self, out: Forward) -> torch.Tensor:
        loss = zero_like(out.img)
        if self.lam > 0:
            loss = loss + self.lam * self.circle(out)
        if self.lam < 1:
            loss = loss + (1 - self.lam) * self.soft(out)
        return loss
