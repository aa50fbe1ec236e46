"""Queries: text → image, image → image, image → text (over a label vocabulary)."""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import cast

import numpy as np

from . import paths
from .files import atomic_write, save_npy
from .images import load_pixels
from .library import Library

PROMPT = "a photo of {}"


@dataclass(frozen=True)
class Hit:
    score: float
    path: str


@dataclass(frozen=True)
class LabelScore:
    score: float
    label: str


def clean_query(text: str) -> str:
    """Strip control characters and outer space; what remains may be empty."""
    return "".join(ch for ch in text if ch.isprintable() or ch == " ").strip()


class _TextCache:
    """LRU of text-query vectors: a repeated query costs nothing."""

    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    def get(self, key: tuple[str, str]) -> np.ndarray | None:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        return None

    def put(self, key: tuple[str, str], value: np.ndarray) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)


_TEXT_CACHE = _TextCache()


def text_vector(lib: Library, text: str) -> np.ndarray:
    key = (lib.space.identity, text)
    cached = _TEXT_CACHE.get(key)
    if cached is None:
        cached = lib.space.texts(lib.encoder.encode_texts([text]))[0]
        _TEXT_CACHE.put(key, cached)
    return cached


def image_vector(lib: Library, path: str | os.PathLike[str]) -> np.ndarray:
    """The query photo's vector: taken from the catalog when it is indexed, else encoded now."""
    path = os.path.abspath(os.fspath(path))
    known = lib.catalog.id_for_path(path)
    if known is not None:
        feats = lib.catalog.vectors_for([known], lib.dim)
    else:
        feats = lib.encoder.encode_images(load_pixels(path, lib.encoder.image_size)[None])
    return cast(np.ndarray, lib.space.images(feats)[0])


def _hits(lib: Library, query: np.ndarray, k: int, min_score: float, exclude: str | None = None) -> list[Hit]:
    if k <= 0:
        return []
    ids, scores = lib.index.search(query[None], k + (1 if exclude else 0))
    found = lib.catalog.paths_for(ids[0].tolist())
    out = [  # compared as Python floats: a --min-score beyond float32's range must not overflow a cast
        Hit(float(s), p)
        for s, p in zip(scores[0].tolist(), found, strict=False)
        if p is not None and p != exclude and s >= min_score
    ]
    return out[:k]


def search_text(lib: Library, text: str, k: int = 20, min_score: float = -1.0) -> list[Hit]:
    """Photos best matching `text`, best first; an empty query gives no results."""
    text = clean_query(text)
    if not text:
        return []
    return _hits(lib, text_vector(lib, text), k, min_score)


def search_image(lib: Library, path: str | os.PathLike[str], k: int = 20, min_score: float = -1.0) -> list[Hit]:
    """Photos most similar to the photo at `path` (the photo itself left out)."""
    absolute = os.path.abspath(os.fspath(path))
    return _hits(lib, image_vector(lib, absolute), k, min_score, exclude=absolute)


# -- image → text ------------------------------------------------------------------------------
def read_vocabulary(path: str | os.PathLike[str] | None = None) -> list[str]:
    """Labels, one per line ('#' comments and blanks ignored); the built-in list when `path` is None."""
    if path is None:
        text = resources.files("xmr_gui").joinpath("data/vocabulary.txt").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    labels = [line.strip() for line in text.splitlines()]
    labels = list(dict.fromkeys(label for label in labels if label and not label.startswith("#")))
    if not labels:
        raise ValueError(f"label file {path} has no labels")
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
    ckpt_space = getattr(lib.space, "label_probabilities", None)
    if labels is None and ckpt_space is not None:
        return top_labels(ckpt_space(image_vector(lib, path))[0], lib.space.labels, k, min_score)  # type: ignore[attr-defined]
    labels = list(labels) if labels is not None else read_vocabulary()
    return rank_labels(image_vector(lib, path), labels, label_vectors(lib, labels), k, min_score)
