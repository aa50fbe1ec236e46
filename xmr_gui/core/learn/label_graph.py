"""The label co-occurrence graph of ML-GCN / L2-GCN, in numpy (the window redraws it live from the counts).

M = YᵀY                     co-occurrence counts, N_i = M_ii
P_ij = M_ij / N_i           P(label j | label i), not symmetric
A_ij = [P_ij ≥ τ], i ≠ j    binarised against rare, noisy co-occurrences
A'_ij = p·A_ij / Σ_k≠i A_ik, A'_ii = 1 − p     re-weighted against over-smoothing
Â = D^-1/2 A' D^-1/2        symmetric normalisation, D the row sums of A'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np


@dataclass(frozen=True)
class LabelGraph:
    counts: np.ndarray  # (C, C) int: M
    tau: float
    p: float

    @classmethod
    def from_labels(cls, Y: np.ndarray, tau: float = 0.4, p: float = 0.2) -> LabelGraph:
        """From a {0,1} label matrix (N items × C labels)."""
        Y = np.asarray(Y)
        if Y.ndim != 2:
            raise ValueError("label matrix must be 2-D (items × labels)")
        Yi = (Y > 0).astype(np.int64)
        return cls(Yi.T @ Yi, tau, p)

    def with_params(self, tau: float, p: float) -> LabelGraph:
        """The same counts with other τ and p (cheap: nothing is recounted)."""
        return LabelGraph(self.counts, tau, p)

    @property
    def frequencies(self) -> np.ndarray:
        return np.diag(self.counts).copy()

    @property
    def probabilities(self) -> np.ndarray:
        """P[i, j] = P(j | i); rows of labels never seen are 0."""
        n = self.frequencies.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            P = np.where(n[:, None] > 0, self.counts / np.maximum(n[:, None], 1), 0.0)
        np.fill_diagonal(P, 0.0)
        return P

    @property
    def binary(self) -> np.ndarray:
        A = (self.probabilities >= self.tau).astype(np.float64)
        np.fill_diagonal(A, 0.0)
        return A

    @property
    def reweighted(self) -> np.ndarray:
        A = self.binary
        row = A.sum(axis=1, keepdims=True)
        Ar = np.where(row > 0, self.p * A / np.maximum(row, 1e-12), 0.0)
        # A label with no neighbour keeps its whole identity (self-loop 1) rather than 1 − p.
        np.fill_diagonal(Ar, np.where(row[:, 0] > 0, 1.0 - self.p, 1.0))
        return Ar

    @property
    def normalized(self) -> np.ndarray:
        A = self.reweighted
        d = A.sum(axis=1)
        inv = np.where(d > 0, 1.0 / np.sqrt(np.maximum(d, 1e-12)), 0.0)
        return cast(np.ndarray, inv[:, None] * A * inv[None, :])

    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """(edge_index (2, E) int64, weight (E,)) of the re-weighted graph incl. self-loops, for GCN layers.

        Label i aggregates from its neighbours j (H'_i = Σ_j Â_ij H_j), so messages flow j → i: in
        torch_geometric's (source, target) order an edge is (j, i) with weight A'_ij.
        """
        A = self.reweighted
        rows, cols = np.nonzero(A)
        return np.stack([cols, rows]).astype(np.int64), A[rows, cols].astype(np.float32)

    @property
    def n_edges(self) -> int:
        """Directed label→label edges after binarisation (self-loops not counted)."""
        return int(self.binary.sum())
