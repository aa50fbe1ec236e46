"""The label co-occurrence graph of ML-GCN / L2-GCN, in numpy (the window redraws it live from the counts), and
NamedGraph: a graph with its label names, read from a checkpoint, a labelled dataset or a shipped example.

M = YᵀY                     co-occurrence counts, N_i = M_ii
P_ij = M_ij / N_i           P(label j | label i), not symmetric
A_ij = [P_ij ≥ τ], i ≠ j    binarised against rare, noisy co-occurrences
A'_ij = p·A_ij / Σ_k≠i A_ik, A'_ii = 1 − p     re-weighted against over-smoothing
Â = D^-1/2 A' D^-1/2        symmetric normalisation, D the row sums of A'
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import cast

import numpy as np

from ..base.errors import XmrError


class GraphError(XmrError):
    """A label graph that does not exist (an unknown example name)."""


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


# Shipped inside the package (package-data), so pip / pipx / PyInstaller installs have them too.
EXAMPLES = {"mirflickr": "mirflickr25k_cooccurrence.json"}


@dataclass
class NamedGraph:
    """A label graph with its label names and where it came from."""

    labels: list[str]
    graph: LabelGraph
    source: str
    attribution: str = ""
    label_inputs: np.ndarray | None = None  # label-name embeddings (GCN input), when a checkpoint has them
    label_outputs: np.ndarray | None = None  # GCN output embeddings (the classifiers)

    @classmethod
    def example(cls, name: str, tau: float = 0.4, p: float = 0.2) -> NamedGraph:
        if name not in EXAMPLES:
            raise GraphError(f"unknown example graph {name!r}; known: {', '.join(EXAMPLES)}")
        data = json.loads(resources.files("xmr_gui").joinpath(f"data/{EXAMPLES[name]}").read_text(encoding="utf-8"))
        return cls(
            data["labels"],
            LabelGraph(np.asarray(data["counts"], np.int64), tau, p),
            f"{data['name']} ({data['items']} items)",
            data.get("attribution", ""),
        )

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike[str]) -> NamedGraph:
        from .checkpoint import Checkpoint, CheckpointError

        ckpt = Checkpoint.load(path)
        g = ckpt.card.get("graph")
        if g is None:
            raise CheckpointError(f"{path} records no label graph (its heads were trained without one)")
        return cls(
            ckpt.labels,
            LabelGraph(np.asarray(g["counts"], np.int64), float(g["tau"]), float(g["p"])),
            f"checkpoint {Path(path).name}",
            label_inputs=ckpt.tensors.get("label_inputs"),
            label_outputs=ckpt.tensors.get("classifiers"),
        )

    @classmethod
    def from_dataset(cls, folder: str | os.PathLike[str], tau: float = 0.4, p: float = 0.2) -> NamedGraph:
        from .dataset import Dataset

        ds = Dataset.load(folder)
        return cls(ds.label_names, LabelGraph.from_labels(ds.labels, tau, p), f"dataset {Path(folder).name}")

    def neighbours(self, label: int, which: str = "after", k: int = 5) -> list[tuple[str, float]]:
        """Nearest labels by cosine of the label-name embeddings ('before') or the GCN outputs ('after')."""
        emb = self.label_inputs if which == "before" else self.label_outputs
        if emb is None:
            return []
        e = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        sims = e @ e[label]
        sims[label] = -np.inf
        order = np.argsort(-sims)[:k]
        return [(self.labels[j], float(sims[j])) for j in order]
