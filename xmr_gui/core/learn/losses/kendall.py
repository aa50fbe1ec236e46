"""BCLS's Kendall ranking loss with sliding-window + hard-sample (SW-HS) pair sampling.

For query image i, candidates j are sorted by pseudo-label s_ij; pairs (j, k) are taken inside a sliding window
over that order (offsets 1..window) and the `hard` most discordant per query kept, so the cost stays O(B).
Discordance of a pair = (1 − tanh((sim_ij − sim_ik)/T) · sign(s_ij − s_ik)) / 2.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import Forward, zero_like


class KendallLoss(nn.Module):
    def __init__(self, temperature: float = 0.1, window: int = 3, hard: int = 8) -> None:
        super().__init__()
        self.temperature, self.window, self.hard = temperature, window, hard

    def pair_terms(self, sim: torch.Tensor, pseudo: torch.Tensor) -> torch.Tensor:
        """(B, P) discordance of every window pair of every query; 0 where the pseudo-labels tie."""
        order = torch.argsort(pseudo, dim=1, descending=True)
        terms = []
        for offset in range(1, self.window + 1):
            j, k = order[:, :-offset], order[:, offset:]
            ds = torch.gather(pseudo, 1, j) - torch.gather(pseudo, 1, k)
            dm = torch.gather(sim, 1, j) - torch.gather(sim, 1, k)
            disc = (1 - torch.tanh(dm / self.temperature) * torch.sign(ds)) / 2
            terms.append(torch.where(ds != 0, disc, torch.zeros_like(disc)))
        return torch.cat(terms, dim=1)

    def forward(self, out: Forward) -> torch.Tensor:
        if out.pseudo is None or out.img.shape[0] < 3:
            return zero_like(out.img)
        sim = out.img @ out.txt.T
        terms = self.pair_terms(sim, out.pseudo)
        hardest = torch.topk(terms, min(self.hard, terms.shape[1]), dim=1).values
        return hardest.mean()
