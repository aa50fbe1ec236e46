"""Label graphs for people: a stable 2-D layout and a PNG rendering (Pillow; no Qt), plus graph sources."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import cast

import numpy as np

from ..learn.label_graph import LabelGraph

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
            raise ValueError(f"unknown example graph {name!r}; known: {', '.join(EXAMPLES)}")
        data = json.loads(resources.files("xmr_gui").joinpath(f"data/{EXAMPLES[name]}").read_text(encoding="utf-8"))
        return cls(
            data["labels"],
            LabelGraph(np.asarray(data["counts"], np.int64), tau, p),
            f"{data['name']} ({data['items']} items)",
            data.get("attribution", ""),
        )

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike[str]) -> NamedGraph:
        from ..learn.checkpoint import Checkpoint

        ckpt = Checkpoint.load(path)
        g = ckpt.card["graph"]
        return cls(
            ckpt.labels,
            LabelGraph(np.asarray(g["counts"], np.int64), float(g["tau"]), float(g["p"])),
            f"checkpoint {Path(path).name}",
            label_inputs=ckpt.tensors.get("label_inputs"),
            label_outputs=ckpt.tensors.get("classifiers"),
        )

    @classmethod
    def from_dataset(cls, folder: str | os.PathLike[str], tau: float = 0.4, p: float = 0.2) -> NamedGraph:
        from ..learn.dataset import Dataset

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


def spring_layout(weights: np.ndarray, seed: int = 0, iterations: int = 300) -> np.ndarray:
    """Fruchterman–Reingold positions in [-1, 1]² for a weighted graph; seeded, so redraws are stable."""
    n = len(weights)
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-1, 1, (n, 2))
    W = np.maximum(weights, weights.T)
    np.fill_diagonal(W, 0)
    k = 1.0 / np.sqrt(max(n, 1))
    temperature = 0.1
    for _ in range(iterations):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.maximum(np.linalg.norm(delta, axis=-1), 1e-3)
        force = (2 * k * k / dist**2)[..., None] * delta - (W * dist / k)[..., None] * delta
        disp = force.sum(axis=1)
        length = np.maximum(np.linalg.norm(disp, axis=1, keepdims=True), 1e-9)
        pos += disp / length * np.minimum(length, temperature)
        temperature *= 0.985
    pos -= pos.mean(axis=0)
    return cast(np.ndarray, pos / np.maximum(np.abs(pos).max(axis=0), 1e-9))  # fill both axes


def render_png(g: NamedGraph, path: str | os.PathLike[str], size: int = 1200) -> Path:
    """Nodes sized by label frequency, edges drawn with width ∝ re-weighted adjacency, arrows i → j for P(j|i) ≥ τ."""
    from PIL import Image, ImageDraw, ImageFont

    A = g.graph.reweighted
    pos = spring_layout(A + A.T)
    xy = (pos * 0.40 + 0.47) * size
    freq = g.graph.frequencies.astype(float)
    radius = 8 + 22 * np.sqrt(freq / max(freq.max(), 1))
    im = Image.new("RGB", (size, size + 60), "white")
    d = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=18) if hasattr(ImageFont, "load_default") else None
    B = g.graph.binary
    for i, j in zip(*np.nonzero(B), strict=False):
        width = max(1, int(round(1 + 12 * A[i, j])))
        d.line([tuple(xy[i]), tuple(xy[j])], fill=(120, 140, 200), width=width)
    for i, name in enumerate(g.labels):
        x, y = xy[i]
        r = radius[i]
        d.ellipse([x - r, y - r, x + r, y + r], fill=(250, 180, 60), outline=(90, 60, 20))
        d.text((x + r + 3, y - 9), name, fill=(20, 20, 20), font=font)
    d.text(
        (10, size + 10),
        f"{g.source}: tau={g.graph.tau:g}, p={g.graph.p:g}, {g.graph.n_edges} edges",
        fill=(0, 0, 0),
        font=font,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)
    return path
