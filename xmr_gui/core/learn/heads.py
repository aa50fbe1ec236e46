"""The trained shared space applied with numpy: projection heads + GCN label classifiers (no torch needed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np

if TYPE_CHECKING:
    from .cache import LabelCache


def _normalize(x: np.ndarray) -> np.ndarray:
    return cast(np.ndarray, (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(np.float32))


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return (0.5 * (1.0 + np.tanh(0.5 * logits))).astype(np.float32)  # exp overflows


def mlp(x: np.ndarray, weights: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Linear → ReLU → ... → Linear, as torch's nn.Linear stores weights ((out, in), (out,))."""
    h = np.asarray(x, dtype=np.float32)
    for n, (w, b) in enumerate(weights):
        h = h @ w.T + b
        if n < len(weights) - 1:
            h = np.maximum(h, 0)
    return h


class CheckpointSpace:
    """The space of a trained checkpoint: a `space.LabelSpace`."""

    def __init__(
        self,
        identity: str,
        backbone_identity: str,
        img_head: list[tuple[np.ndarray, np.ndarray]],
        txt_head: list[tuple[np.ndarray, np.ndarray]],
        labels: list[str],
        classifiers: np.ndarray,
        gcn: dict[str, np.ndarray] | None = None,
        classifier_queries: bool = True,
        residual: float = 0.0,
    ) -> None:
        self.identity = identity
        self.backbone_identity = backbone_identity
        self._img, self._txt = img_head, txt_head
        self.labels = labels
        self.classifiers = classifiers.astype(np.float32)
        self.dim: int | None = int(classifiers.shape[1])
        self.gcn = gcn  # adjacency (C, C), messages (C, d), bias (d,): classifiers = adjacency @ messages + bias
        self.classifier_queries = classifier_queries  # label queries answered by classifiers (Checkpoint says)
        # `label:NAME` terms and queries naming several labels, which get no vote: the same gate, measured without it
        # (`classifier_queries` is re-decided with the vote by Checkpoint.space where it serves one)
        self.classifier_terms = classifier_queries
        self.cache: LabelCache | None = None  # training photos voting beside the classifiers (cache.py)
        self.query_vote: LabelCache | None = None  # the same photos voting in a one-label query (cache.py)
        self.suggest_thresholds = "global"  # "per-label" when the card's are shrunk (Checkpoint.space)
        self.thresholds: np.ndarray | None = None  # per-label suggestion thresholds (learn/calibrate.py)
        self.global_threshold: float | None = None  # one for every label, calibrated (None: the card has none)
        self.residual = float(residual)  # > 0: the heads are residual adapters at this ratio (model.ResidualHead)

    def _head(self, feats: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        out = mlp(feats, layers)
        if self.residual > 0:
            out = self.residual * out + (1.0 - self.residual) * np.asarray(feats, np.float32)
        return _normalize(out)

    def images(self, feats: np.ndarray) -> np.ndarray:
        return self._head(feats, self._img)

    def texts(self, feats: np.ndarray) -> np.ndarray:
        return self._head(feats, self._txt)

    def label_probabilities(self, z: np.ndarray) -> np.ndarray:
        """sigmoid(z · Hᵀ): the multi-label classifier's output for shared-space vectors z (mixed with the cache's
        vote when the checkpoint has one)."""
        p = sigmoid(np.atleast_2d(z) @ self.classifiers.T)
        return p if self.cache is None else self.cache.mix(p, z)

    def lifted_by(self, z: np.ndarray, label: int, top: int = 3) -> list[tuple[str, float]]:
        """Neighbour labels j that raised label `label`'s logit for z the most: Â_ij (z · M_j), j ≠ i, > 0."""
        if self.gcn is None:
            return []
        parts = self.gcn["adjacency"][label] * (self.gcn["messages"] @ np.asarray(z, dtype=np.float32))
        parts[label] = 0.0
        order = np.argsort(-parts, kind="stable")[:top]
        return [(self.labels[j], float(parts[j])) for j in order if parts[j] > 0]


class BlendedSpace:
    """A checkpoint's learned space interpolated with its backbone's (`space.blend`): a `space.LabelSpace` whose
    cosines are a · backbone + (1 − a) · learned, a = `share` chosen on validation (`serving.choose_blend`).

    Its label classifiers, as queries, are the labels' backbone prompt vectors blended with their learned classifiers
    in the same proportion; its label probabilities are the learned classifiers' own, read from the learned part of
    a vector (recomputed from its backbone part at a = 1, where the learned part is zero)."""

    def __init__(self, learned: CheckpointSpace, share: float, label_vectors: np.ndarray) -> None:
        from .space import blend

        self.learned, self.share = learned, float(share)
        self.identity = f"{learned.identity}+backbone{self.share:g}"  # its own index: the vectors differ
        self.backbone_identity = learned.backbone_identity
        self.labels = learned.labels
        self._d = int(label_vectors.shape[1])
        self.dim: int | None = self._d + int(learned.classifiers.shape[1])
        self.classifiers = blend(label_vectors, learned.classifiers, self.share)
        self.classifier_queries = learned.classifier_queries
        self.classifier_terms = learned.classifier_terms
        self.cache: LabelCache | None = None  # in this space (the learned one's own is not used)
        self.query_vote: LabelCache | None = None
        self.suggest_thresholds = "global"
        self.thresholds: np.ndarray | None = None  # per-label suggestion thresholds (learn/calibrate.py)
        self.global_threshold: float | None = None  # one for every label, calibrated (None: the card has none)

    def images(self, feats: np.ndarray) -> np.ndarray:
        from .space import blend

        return blend(feats, self.learned.images(feats), self.share)

    def texts(self, feats: np.ndarray) -> np.ndarray:
        from .space import blend

        return blend(feats, self.learned.texts(feats), self.share)

    def learned_part(self, z: np.ndarray) -> np.ndarray:
        """Blended image vectors z (n, dim) → the same photos' unit vectors in the learned space."""
        z = np.atleast_2d(np.asarray(z, dtype=np.float32))
        if self.share < 1.0:
            return _normalize(z[:, self._d :])
        return self.learned.images(z[:, : self._d])  # the backbone part is the (unit) backbone vector itself

    def label_probabilities(self, z: np.ndarray) -> np.ndarray:
        p = sigmoid(self.learned_part(z) @ self.learned.classifiers.T)
        return p if self.cache is None else self.cache.mix(p, z)

    def lifted_by(self, z: np.ndarray, label: int, top: int = 3) -> list[tuple[str, float]]:
        return self.learned.lifted_by(self.learned_part(z)[0], label, top)
