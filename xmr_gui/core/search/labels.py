"""Image → text: the labels of a vocabulary (or a checkpoint's classifiers) that best describe a photo."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..base import paths
from ..base.errors import XmrError
from ..base.files import atomic_write, save_npy
from ..learn.space import LabelSpace
from ..store.library import Library
from .photos import image_vector

PROMPT = "a photo of {}"


class VocabularyError(XmrError):
    """A label file that cannot be used (not UTF-8 text, or no labels in it)."""


@dataclass(frozen=True)
class LabelScore:
    score: float
    label: str


def read_vocabulary(path: str | os.PathLike[str] | None = None) -> list[str]:
    """Labels, one per line ('#' comments and blanks ignored); the built-in list when `path` is None."""
    if path is None:
        text = resources.files("xmr_gui").joinpath("data/vocabulary.txt").read_text(encoding="utf-8")
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise VocabularyError(f"label file {path} is not UTF-8 text ({exc})") from None
    labels = [line.strip() for line in text.splitlines()]
    labels = list(dict.fromkeys(label for label in labels if label and not label.startswith("#")))
    if not labels:
        raise VocabularyError(f"label file {path} has no labels")
    return labels


def label_vectors(lib: Library, labels: Sequence[str]) -> np.ndarray:
    """Prompt embeddings of `labels` in the library's space, cached on disk per (space, vocabulary)."""
    key = hashlib.sha256("\n".join([lib.space.identity, PROMPT, *labels]).encode()).hexdigest()[:20]
    cache = paths.cache_dir() / "labels" / f"{key}.npy"
    if cache.exists():
        try:
            vectors: np.ndarray = np.load(cache, allow_pickle=False)
            if vectors.shape[0] == len(labels):
                return vectors
        except (OSError, ValueError):
            pass
    vectors = lib.space.texts(lib.encoder.encode_texts([PROMPT.format(label) for label in labels]))
    atomic_write(cache, lambda tmp: save_npy(tmp, vectors))
    return vectors


def rank_labels(
    image: np.ndarray, labels: Sequence[str], vectors: np.ndarray, k: int, min_score: float
) -> list[LabelScore]:
    return top_labels(vectors @ image, labels, k, min_score)


def top_labels(scores: np.ndarray, labels: Sequence[str], k: int, min_score: float) -> list[LabelScore]:
    """The k best (score, label) pairs at or above `min_score`, best first."""
    order = np.argsort(-scores, kind="stable")
    return [LabelScore(float(scores[i]), labels[i]) for i in order[: max(k, 0)] if scores[i] >= min_score]


def describe(
    lib: Library,
    path: str | os.PathLike[str],
    labels: Sequence[str] | None = None,
    k: int = 10,
    min_score: float = -1.0,
) -> list[LabelScore]:
    """Labels that best describe the photo at `path`, best first.

    With a checkpoint and no vocabulary given, the scores are the GCN label classifiers' probabilities.
    """
    space = lib.space
    if labels is None and isinstance(space, LabelSpace):
        return top_labels(space.label_probabilities(image_vector(lib, path))[0], space.labels, k, min_score)
    image = image_vector(lib, path)
    if labels is None:
        from .known import known

        concepts = known(lib)
        if concepts is not None:  # a closed-vocabulary model: its own concepts, then the built-in photo words
            extra = [w for w in read_vocabulary() if w not in set(concepts.names)]
            names = [*concepts.names, *extra]
            vectors = np.concatenate([concepts.vectors, label_vectors(lib, extra)])
            return _distinct(top_labels(vectors @ image, names, 4 * k + 8, min_score), k)
    labels = list(labels) if labels is not None else read_vocabulary()
    return rank_labels(image, labels, label_vectors(lib, labels), k, min_score)


def _distinct(rows: list[LabelScore], k: int) -> list[LabelScore]:
    """The best row per label name (ImageNet has two classes named "crane", WordNet groups share names)."""
    best: dict[str, LabelScore] = {}
    for r in rows:
        best.setdefault(r.label, r)
    return list(best.values())[:k]
