"""Queries that name a checkpoint's labels, answered with the labels' GCN classifier embeddings.

A checkpoint's text tower learnt its labels only inside captions, so a one-word query is a poor text vector: on the
demo world "sea", "stars" and "umbrella" found none of their photos. The GCN classifier of a label is what the
checkpoint learnt that label looks like (ranking photos by it is ranking them by that label's probability), so:

- a query that is one of the labels (case-insensitive, singular or plural, "a"/"the"/"photo of" stripped) is answered
  with that label's classifier plus `LABEL_QUERY_TEXT` (learn/space.py) × the query's own text vector, and, when the
  checkpoint's card chose it on validation, the vote of the training photos that carry the label (learn/cache.py
  `LabelCache.lift`, applied by search/photos.py over the index's nearest);
- a one- or two-word query that is none of them goes to its nearest label judged in MiniLM's space (the offline
  model's text tower, the judge `known.py` uses for a checkpoint's vocabulary), when that label is at least
  `NEAR` away (cosine of "a photo of a {word}." to "a photo of a {label}.");
- a longer query keeps its text vector and adds `WORDS_LABELS` × the classifiers of the labels it names word for word
  ("a dog on the beach": its text vector + dog's classifier).

Anything else, any library without a checkpoint, and a checkpoint whose card shows its classifiers answering label
queries worse than the text vector on held-out photos (`Checkpoint.classifier_queries`; few training photos can do
that) is searched as before. That gate is measured as each query is served: a one-label query with the vote
(`classifier_queries`, "served"), a longer query and a `label:NAME` term without it (`classifier_terms`,
"combined"), so the vote's gain never opens the gate for a query that does not get it. The weights and the threshold are
measured with bench/label_queries.py (bench/RESULTS.md, "Label queries that work"): on the demo labels, near words
("doggy" 0.87, "ocean" 0.90, "hills" 0.74, "moonlight" 0.72 to their labels) score at least 0.724 and unrelated ones
at most 0.711 ("desert" → sand; "fish" → sea 0.67, "horse" → dog 0.63, "cat" → dog 0.62), hence `NEAR` = 0.72.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np

from ..base.errors import XmrError
from ..learn.space import LabelSpace, label_query_vectors
from ..runtime import offline
from ..runtime.spec import Encoder

WORDS_LABELS = 1.0  # each named label's classifier beside a longer query's text vector
NEAR = 0.72  # MiniLM cosine from which a short query stands for its nearest label (measured: see above)
NEAR_MAX_WORDS = 2

_LEADING = re.compile(r"^(?:(?:a|an|the|some|photos?|pictures?|images?|of|with)\s+)+")
_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
_IRREGULAR = {"people": "person", "persons": "person", "men": "man", "women": "woman", "children": "child"}


@dataclass(frozen=True)
class Named:
    """The labels a query names (indices into the space's labels) and how: "label" (the query is that label),
    "near" (its nearest label in MiniLM's space, with `similarity`) or "words" (named inside a longer query)."""

    labels: tuple[int, ...]
    how: str
    similarity: float = 1.0

    @property
    def key(self) -> str:
        return f"{self.how}:{','.join(map(str, self.labels))}"


def words(text: str) -> list[str]:
    """Lower-case words of `text`, leading articles and "photo of" dropped: "A photo of the Dogs." → ["dogs"]."""
    core = _LEADING.sub("", " ".join(_WORD.findall(text.lower())))
    return core.split()


def singular(word: str) -> str:
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes", "zes", "oes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _key(words: Sequence[str]) -> tuple[str, ...]:
    return tuple(singular(w) for w in words)


@functools.lru_cache(maxsize=8)
def _label_keys(labels: tuple[str, ...]) -> dict[tuple[str, ...], int]:
    """Each label's words (singular) → its index; a label may itself be plural or several words."""
    return {_key(words(name) or name.lower().split()): i for i, name in reversed(list(enumerate(labels)))}


def name_labels(
    labels: Sequence[str], text: str, near: Callable[[str], tuple[int, float]] | None = None
) -> Named | None:
    """The labels `text` names, or None. `near(phrase)` → (nearest label, cosine) in a language model's space."""
    keys = _label_keys(tuple(labels))
    found = words(text)
    if not found:
        return None
    whole = _key(found)
    if whole in keys:
        return Named((keys[whole],), "label")
    if near is not None and len(found) <= NEAR_MAX_WORDS:
        label, similarity = near(" ".join(found))
        if similarity >= NEAR:
            return Named((label,), "near", similarity)
    longest = max((len(k) for k in keys), default=0)
    named: list[int] = []
    i, singulars = 0, _key(found)
    while i < len(singulars):  # longest label first at each position: "ice cream" before "ice"
        for n in range(min(longest, len(singulars) - i), 0, -1):
            hit = keys.get(singulars[i : i + n])
            if hit is not None:
                if hit not in named:
                    named.append(hit)
                i += n
                break
        else:
            i += 1
    return Named(tuple(named), "words") if named else None


def resolve(space: LabelSpace, text: str, voted: bool = True) -> Named | None:
    """The labels a query names in a checkpoint's space (MiniLM judges a near word when it can be loaded); None when
    the checkpoint's own measurement says its classifiers answer label queries no better than text does. `voted`:
    `text` is the whole query, so a one-label query gets the training photos' vote (search/photos.py) and is gated
    with it (`classifier_queries`); a term of a longer query (` + `, weights) gets none (`classifier_terms`), as a
    query naming several labels never does."""
    if not (space.classifier_queries or space.classifier_terms):
        return None
    named = name_labels(space.labels, text, functools.partial(_nearest, tuple(space.labels)))
    if named is None:
        return None
    one_voted = voted and named.how != "words"
    return named if (space.classifier_queries if one_voted else space.classifier_terms) else None


def explain(space: LabelSpace, text: str) -> str | None:
    """How a checkpoint answers `text` when it names its labels, in one line (`xmr search` prints it); None when it
    names none (searched by its text vector alone, as any query)."""
    named = resolve(space, text)
    if named is None:
        if name_labels(space.labels, text) is not None:  # named word for word, and the gate keeps classifiers out
            return "by its text: this checkpoint's label classifiers were not clearly better than text on validation"
        return None
    names = ", ".join(repr(space.labels[i]) for i in named.labels)
    if named.how == "words":
        return f"by its text, with the classifiers of {names}"
    how = "its classifier, with the query's text"
    vote = space.query_vote
    n = int((vote.labels[:, named.labels[0]] > 0).sum()) if vote is not None else 0
    if n:  # a label no training photo carries gets no vote
        how += f" and the vote of the {n} training photo{'s' if n != 1 else ''} labelled {names}"
    if named.how == "near":
        return f"as the nearest label {names} (similarity {named.similarity:.2f}): {how}"
    return f"as the label {names}: {how}"


def combine(space: LabelSpace, named: Named, text_vector: np.ndarray) -> np.ndarray:
    """The query vector: the named labels' unit classifiers with the query's own text vector (both unit length)."""
    rows = space.classifiers[list(named.labels)]
    if named.how != "words":  # one label ("label" or "near")
        return cast(np.ndarray, label_query_vectors(rows, text_vector[None])[0])
    rows = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    v = text_vector + WORDS_LABELS * rows.sum(0)
    return cast(np.ndarray, (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32))


def label_scores(space: LabelSpace, z: np.ndarray, typed: np.ndarray) -> np.ndarray:
    """(n, C): how a query that is one of the space's labels scores photos z (vectors in the space), for every
    label, given the backbone's vectors of the labels as typed (`typed`, as `xmr search dog` encodes "dog"): its
    classifier with its text (`combine`) and, when the card chose it, the training photos' vote (what search/photos.py
    adds over the index's nearest); the text vector alone where the card's gate keeps the classifiers out. The
    benchmarks measure label queries with it."""
    text = space.texts(typed)
    if not space.classifier_queries:
        return cast(np.ndarray, z @ (text / np.maximum(np.linalg.norm(text, axis=1, keepdims=True), 1e-12)).T)
    scores = z @ label_query_vectors(space.classifiers, text).T
    vote = space.query_vote
    return cast(np.ndarray, scores if vote is None else scores + vote.weight * vote.votes(z))


@functools.lru_cache(maxsize=256)
def _nearest(labels: tuple[str, ...], phrase: str) -> tuple[int, float]:
    """The label nearest to `phrase` in MiniLM's space and its cosine; (-1, -1.0) when MiniLM cannot be loaded.
    Cached: one search resolves its query more than once (its vector, the training photos' vote, the line that says
    how it was answered), and MiniLM would encode the phrase each time."""
    found = judge(labels)
    if found is None:
        return -1, -1.0
    encode, vectors = found
    scores = vectors @ encode(phrase)
    best = int(np.argmax(scores))
    return best, float(scores[best])


@functools.lru_cache(maxsize=8)
def judge(labels: tuple[str, ...]) -> tuple[Callable[[str], np.ndarray], np.ndarray] | None:
    """MiniLM (the offline model's text tower, which `known.known` also judges a checkpoint's labels with) and the
    labels' unit vectors in its space, phrased with the offline model's template; None when it cannot be loaded."""
    try:
        encoder = judge_encoder()
        vectors = encoder.encode_texts([offline.TEMPLATE.format(label) for label in labels])
    except (XmrError, OSError):
        return None

    def encode(phrase: str) -> np.ndarray:
        return cast(np.ndarray, encoder.encode_texts([offline.TEMPLATE.format(phrase)])[0])

    return encode, vectors


@functools.cache
def judge_encoder() -> Encoder:
    """MiniLM, loaded once per process: a general language model to judge a checkpoint's vocabulary with."""
    from ..runtime.factory import load_encoder
    from ..runtime.spec import ModelSpec

    return load_encoder(ModelSpec.parse(offline.OFFLINE_MODEL, offline.DEFAULT_VARIANT), device="cpu")
