"""Photo queries: text → photos and photo → photos, best first."""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import cast

import numpy as np

from ..learn.space import LabelSpace
from ..runtime.images import load_pixels
from ..store.library import Library
from . import label_query


@dataclass(frozen=True)
class Hit:
    score: float
    path: str


def clean_query(text: str) -> str:
    """Strip control characters and outer space; what remains may be empty."""
    return "".join(ch for ch in text if ch.isprintable() or ch == " ").strip()


class _TextCache:
    """LRU of text-query vectors: a repeated query costs nothing."""

    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, str, str], np.ndarray] = OrderedDict()

    def get(self, key: tuple[str, str, str]) -> np.ndarray | None:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        return None

    def put(self, key: tuple[str, str, str], value: np.ndarray) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)


_TEXT_CACHE = _TextCache()


def text_vector(lib: Library, text: str) -> np.ndarray:
    """The query's unit vector in the library's space. With a checkpoint, a query naming its labels is answered
    with their classifiers (label_query.py): the labels it names are part of the cache key."""
    space = lib.space
    named = label_query.resolve(space, text) if isinstance(space, LabelSpace) else None
    key = (space.identity, text, named.key if named is not None else "")
    cached = _TEXT_CACHE.get(key)
    if cached is None:
        cached = space.texts(lib.encoder.encode_texts([text]))[0]
        if named is not None and isinstance(space, LabelSpace):
            cached = label_query.combine(space, named, cached)
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
