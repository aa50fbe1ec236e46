"""What a forward pass hands to the losses."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Forward:
    img: torch.Tensor  # (B, d) unit image embeddings in the shared space
    txt: torch.Tensor  # (B, d) unit text embeddings; row i is paired with image i
    labels: torch.Tensor  # (B, C) {0, 1} float
    classifiers: torch.Tensor | None = None  # (C, d) GCN label embeddings
    modality_logits: torch.Tensor | None = None  # (2B,) discriminator logits, images first
    set_nodes: torch.Tensor | None = None  # (B, d) embedding of each sample's label-set node (USSL)
    pseudo: torch.Tensor | None = None  # (B, B) caption pseudo-similarity in [-1, 1] (BCLS)

    def shares_label(self) -> torch.Tensor:
        """(B, B) bool: items i and j share at least one label."""
        return (self.labels @ self.labels.T) > 0


def zero_like(t: torch.Tensor) -> torch.Tensor:
    """A differentiable zero on `t`'s graph."""
    return t.sum() * 0.0
