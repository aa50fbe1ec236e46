"""What a closed-vocabulary model knows, and telling a user when a query lies outside it.

A checkpoint knows its labels (the demo model: 24 drawn ones); imagenet-minilm knows ImageNet's 1,000 classes and
their WordNet groups. A query whose embedding is far from every one of them gets a hint naming the nearest concepts
it does know, so an empty-looking result is not mistaken for "no such photos". CLIP models are open-vocabulary:
no hint.

Thresholds (cosine of the query to its nearest concept, measured with bench/real_photos.py's queries, see
bench/RESULTS.md "Queries outside what a model knows"):
- imagenet-minilm, MiniLM space: in-vocabulary queries ("a cat" 0.82, "string instruments" 0.78, "a rocket" 0.52,
  tuxpaint's category names ≥ 0.55) against others ("a birthday party" 0.28, "tax form" 0.19, "sunset over the city"
  0.45, "an invoice" 0.42): below 0.5 is outside.
- a checkpoint: its own text tower cannot tell (the demo checkpoint's, trained on 24 labels' captions, puts "a cat"
  at cosine 0.87 of "lamp" and "pizza" at 0.89 of "flower"), so its labels and the query are compared in MiniLM's
  space, the offline model's text tower ("a photo of a {label}." as for ImageNet's classes), with the same 0.5.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..learn.space import LabelSpace
from ..store.library import Library
from .label_query import judge, judge_encoder

MIN_SIMILARITY = 0.5
NEAREST = 3


@dataclass(frozen=True)
class Known:
    """The concepts a model knows, their unit vectors in the library's search space, and the hint threshold."""

    names: list[str]
    vectors: np.ndarray
    what: str  # e.g. "ImageNet's 1,000 classes and their WordNet groups"
    encode: Callable[[str], np.ndarray]  # a query → its unit vector in the space of `vectors`


@dataclass(frozen=True)
class Hint:
    query: str
    best: float
    nearest: list[tuple[str, float]]
    what: str

    def line(self) -> str:
        near = ", ".join(name for name, _ in self.nearest)
        return (
            f"{self.query!r} is far from everything this model knows ({self.what}); nearest: {near}. "
            "Results may be poor: a CLIP model understands any words"
        )


def known(lib: Library) -> Known | None:
    """The closed vocabulary of the library's model, or None for an open one (CLIP)."""
    from .photos import text_vector

    space = lib.space
    if isinstance(space, LabelSpace):
        labels = list(space.labels)
        shown = ", ".join(labels[:6]) + (", …" if len(labels) > 6 else "")
        found = judge(tuple(labels))
        if found is None:  # MiniLM cannot be loaded here: no judge, so no hint
            return None
        reference = judge_encoder()
        what = f"the {len(labels)} labels it was trained on: {shown}"
        return Known(labels, found[1], what, lambda text: reference.encode_texts([text])[0])
    concepts = getattr(lib.encoder, "concepts", None)
    found = concepts() if concepts is not None else None
    if found is None:
        return None
    names, vectors = found
    what = getattr(lib.encoder, "knows", None) or f"{len(names)} concepts"
    return Known(names, space.texts(vectors), what, lambda text: text_vector(lib, text))


def nearest(k: Known, vector: np.ndarray, n: int = NEAREST) -> list[tuple[str, float]]:
    """The `n` concepts nearest to `vector`, distinct names, best first."""
    scores = k.vectors @ vector
    out: dict[str, float] = {}
    for i in np.argsort(-scores, kind="stable"):
        out.setdefault(k.names[i], float(scores[i]))
        if len(out) == n:
            break
    return list(out.items())


def outside(lib: Library, query: str) -> Hint | None:
    """A hint when `query` is far from everything the library's model knows; None when it is close (or the model
    is open-vocabulary)."""
    from .photos import clean_query

    text = clean_query(query)
    k = known(lib) if text else None
    if k is None:
        return None
    near = nearest(k, k.encode(text))
    if not near or near[0][1] >= MIN_SIMILARITY:
        return None
    return Hint(text, near[0][1], near, k.what)
