"""Search spaces: where stored backbone vectors and queries are compared.

The raw space is the backbone's own (zero-shot). A trained checkpoint supplies another space (its projection
heads, applied with numpy) with the same interface, so the index and search code do not care which is used.
A checkpoint's space is also a `LabelSpace`: it has label classifiers, so a photo can be described by them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from .cache import LabelCache

# A query that is one of a checkpoint's labels is answered with that label's unit classifier plus this much of its
# own unit text vector (`label_query_vectors`: search/label_query.py answers with it, serving.label_query_report
# measures it).
LABEL_QUERY_TEXT = 0.25


# The share of a checkpoint's served space that is the backbone's own (`blend`), chosen on the validation split
# at training time (`serving.choose_blend`). 1 is the backbone itself, so the choice can never be worse than the
# untrained model on validation; 0 is the learned space alone (what a checkpoint without the choice serves).
BACKBONE_SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)


def unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return cast(np.ndarray, x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12))


def blend(backbone: np.ndarray, learned: np.ndarray, share: float) -> np.ndarray:
    """[√a · unit(backbone), √(1−a) · unit(learned)] with a = `share`: unit vectors whose cosine is exactly
    a · cos(backbone) + (1 − a) · cos(learned), so one vector index serves the interpolation (WiSE-FT's, in
    similarity rather than in weights: the backbone is frozen)."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"a backbone share is 0 to 1, not {share}")
    return np.concatenate(
        [np.sqrt(share) * unit_rows(backbone), np.sqrt(1.0 - share) * unit_rows(learned)], axis=-1
    ).astype(np.float32)


def label_query_vectors(classifiers: np.ndarray, texts: np.ndarray) -> np.ndarray:
    """Row i: classifier i and text vector i (unit text vectors), mixed as a one-label query is answered — the unit
    classifier plus LABEL_QUERY_TEXT × the text vector — at unit length."""

    return unit_rows(unit_rows(classifiers) + LABEL_QUERY_TEXT * np.asarray(texts, np.float32))


class Space(Protocol):
    identity: str  # names the space; the index file is keyed by it
    backbone_identity: str  # the encoder whose vectors it takes
    dim: int | None  # None: same as the backbone

    def images(self, feats: np.ndarray) -> np.ndarray:
        """Backbone image vectors (n, d_in) → unit vectors in this space."""

    def texts(self, feats: np.ndarray) -> np.ndarray:
        """Backbone text vectors (n, d_in) → unit vectors in this space."""


@runtime_checkable
class LabelSpace(Space, Protocol):
    """A space with a classifier per label (a trained checkpoint's); `isinstance(space, LabelSpace)` tells."""

    labels: list[str]
    classifiers: np.ndarray  # (C, dim): one row per label
    classifier_queries: bool  # answer a query naming a label with its classifier (its card shows it clearly beats text)
    classifier_terms: bool  # the same for `label:NAME` terms and queries naming several labels, which get no vote
    thresholds: np.ndarray | None  # (C,) each label's suggestion threshold, calibrated; None: the card has none
    global_threshold: float | None  # one suggestion threshold for every label, calibrated; None: the card has none
    suggest_thresholds: str  # `xmr suggest`'s default: "per-label" (shrunk, THRESHOLDS_VERSION 2) or "global"
    query_vote: LabelCache | None  # the training photos' vote in a one-label query (cache.py); None: the card has none

    def label_probabilities(self, z: np.ndarray) -> np.ndarray:
        """Vectors z (n, dim) in this space → (n, C) probability of each label."""

    def lifted_by(self, z: np.ndarray, label: int, top: int = 3) -> list[tuple[str, float]]:
        """The neighbour labels that raised `label`'s score for one vector z the most, with how much."""


class RawSpace:
    """The backbone's own space: vectors pass through unchanged."""

    def __init__(self, backbone_identity: str) -> None:
        self.backbone_identity = backbone_identity
        self.identity = f"raw:{backbone_identity}"
        self.dim: int | None = None

    def images(self, feats: np.ndarray) -> np.ndarray:
        return np.asarray(feats, dtype=np.float32)

    def texts(self, feats: np.ndarray) -> np.ndarray:
        return np.asarray(feats, dtype=np.float32)
