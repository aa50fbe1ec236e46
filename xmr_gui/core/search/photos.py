"""Photo queries: text → photos and photo → photos, best first."""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import cast

import numpy as np

from ..learn.space import LabelSpace
from ..runtime.images import load_pixels
from ..store import photo_meta
from ..store.library import Library
from . import label_query
from .query import Query, QueryError, TermKind, parse_query

# A filtered search reads the vectors of every matching photo and ranks them exactly while they are at most this
# many (bench/search_filters.py: ~45 ms for 1,000 of 100,000); a larger share is searched in the index with its
# own filter (hnswlib's, LanceDB's prefilter, Qdrant's), where every result still matches and k come back.
EXACT_FILTER_MAX = 20_000

# A query naming one of a checkpoint's labels, when its card chose the training photos' vote for label queries
# (learn/cache.py `LabelCache.lift`), is scored exactly over this many of the index's nearest to its query vector:
# cosine + w_q × the label's vote share. The vote lifts a photo by at most w_q (≤ 0.75), and a photo like the ones
# labelled with it is near the label's classifier too, so the candidates are the photos it can lift.
VOTE_CANDIDATES = 1000
VOTE_READ_BLOCK = 10_000  # vectors read at a time when the candidates must be found without the index


@dataclass(frozen=True)
class Hit:
    score: float
    path: str
    taken: str | None = None  # when the photo was taken (filter-only lists, newest first)
    by_keyword: bool = False  # it carries the query as one of its keywords (listed first)
    cosine: float | None = None  # a label query's cosine when the training photos' vote was added to `score`

    @property
    def similarity(self) -> float:
        """The cosine with the query, which --min-score and the window's slider compare (the vote never counts)."""
        return self.score if self.cosine is None else self.cosine


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


def text_vector(lib: Library, text: str, voted: bool = True) -> np.ndarray:
    """The query's unit vector in the library's space. With a checkpoint, a query naming its labels is answered
    with their classifiers (label_query.py): the labels it names are part of the cache key. `voted`: `text` is a
    whole query, which the training photos' vote may join (its gate: `label_query.resolve`); False for a term of a
    longer query."""
    space = lib.space
    named = label_query.resolve(space, text, voted) if isinstance(space, LabelSpace) else None
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


def label_vector(lib: Library, name: str) -> np.ndarray:
    """A `label:NAME` term: the checkpoint's label as a query naming it is answered (its classifier with the name's
    text vector). QueryError without a checkpoint's labels, or for a name that is none of them."""
    space = lib.space
    if not isinstance(space, LabelSpace):
        raise QueryError(f"label:{name} needs a checkpoint with labels (pass --checkpoint FILE, or open one)")
    named = label_query.name_labels(space.labels, name)
    if named is None or named.how != "label":
        shown = ", ".join(space.labels[:12]) + (", ..." if len(space.labels) > 12 else "")
        raise QueryError(f"{name!r} is not one of the checkpoint's labels ({shown})")
    text = space.texts(lib.encoder.encode_texts([name]))[0]
    if not space.classifier_terms:  # the card's gate: without the vote, its classifiers do not beat the text
        return cast(np.ndarray, text)
    return label_query.combine(space, label_query.Named(named.labels, "label"), text)


def voted_label(lib: Library, text: str) -> int | None:
    """The label whose training photos vote in the answer to `text` (a query that is one label, or stands for its
    nearest: label_query.py), or None: no checkpoint, a card without the vote, or another query."""
    space = lib.space
    if not isinstance(space, LabelSpace) or space.query_vote is None:
        return None
    named = label_query.resolve(space, text)
    return named.labels[0] if named is not None and named.how != "words" else None


def query_vector(lib: Library, query: Query) -> np.ndarray:
    """The normalised weighted sum of the query's term vectors (QueryError when they cancel out)."""
    total: np.ndarray | None = None
    for term in query.terms:
        if term.kind is TermKind.IMAGE:
            v = image_vector(lib, term.value)
        elif term.kind is TermKind.LABEL:
            v = label_vector(lib, term.value)
        else:
            v = text_vector(lib, clean_query(term.value), voted=query.plain_text is not None)
        v = v.astype(np.float32) / max(float(np.linalg.norm(v)), 1e-12)
        total = term.weight * v if total is None else total + term.weight * v
    norm = float(np.linalg.norm(total)) if total is not None else 0.0
    if total is None or norm < 1e-6:
        raise QueryError("the query's terms cancel out: nothing is left to search for")
    return (total / norm).astype(np.float32)


def _hits(
    lib: Library,
    query: np.ndarray,
    k: int,
    min_score: float,
    exclude: frozenset[str] = frozenset(),
    vote: int | None = None,
) -> list[Hit]:
    if k <= 0:
        return []
    if vote is not None:  # the index's nearest, scored exactly with the label's vote
        ids, _ = lib.index.search(query[None], max(VOTE_CANDIDATES, k + len(exclude)))
        found = lib.catalog.paths_for(ids[0].tolist())
        keep = [i for i, p in zip(ids[0].tolist(), found, strict=False) if p is not None and p not in exclude]
        return _exact(lib, query, keep, k, min_score, vote=vote)
    ids, scores = lib.index.search(query[None], k + len(exclude))
    found = lib.catalog.paths_for(ids[0].tolist())
    out = [  # compared as Python floats: a --min-score beyond float32's range must not overflow a cast
        Hit(float(s), p)
        for s, p in zip(scores[0].tolist(), found, strict=False)
        if p is not None and p not in exclude and s >= min_score
    ]
    return out[:k]


def search_text(lib: Library, text: str, k: int = 20, min_score: float = -1.0) -> list[Hit]:
    """Photos best matching `text` (one text, or terms joined by ` + ` / ` - `: query.py), best first; an empty
    query gives no results."""
    text = clean_query(text)
    if not text:
        return []
    return search_query(lib, parse_query(text), k, min_score)


@dataclass(frozen=True)
class Answer:
    hits: list[Hit]
    matching: int | None = None  # how many photos match the query's filters (None: it has none)


def search_query(lib: Library, query: Query, k: int = 20, min_score: float = -1.0) -> list[Hit]:
    """Photos best matching a parsed query, best first (`answer`'s hits)."""
    return answer(lib, query, k, min_score).hits


def answer(lib: Library, query: Query, k: int = 20, min_score: float = -1.0) -> Answer:
    """Photos best matching a parsed query, best first, with how many photos its filters let through; the photos of
    its positive image terms are left out (as `search_image` leaves out the photo asked about).

    With filters the search is exact over the photos that match them (k results whenever k match, every one
    matching); a query of filters only lists the matching photos, newest first. A plain text query that is one of
    the library's keywords brings the photos carrying it first (`Hit.by_keyword`), then the model's results."""
    if query.filters.active:
        rows = photo_meta.matching(lib.catalog.connection, query.filters, lib.folder)
        return Answer(_filtered(lib, query, rows, k, min_score), len(rows))
    return Answer(_unfiltered(lib, query, k, min_score))


def _unfiltered(lib: Library, query: Query, k: int, min_score: float) -> list[Hit]:
    plain = query.plain_text
    if not query.terms:
        return []
    if plain is not None:
        plain = clean_query(plain)
        if not plain or k <= 0:
            return []
        vector, vote = text_vector(lib, plain), voted_label(lib, plain)
        tagged = photo_meta.with_keyword(lib.catalog.connection, plain)
        if not tagged:
            return _hits(lib, vector, k, min_score, vote=vote)
        candidates = tagged if vote is None else _vote_candidates(lib, vector, tagged, k)
        first = _exact(lib, vector, candidates, k, min_score, by_keyword=True, vote=vote)
        rest = _hits(lib, vector, k, min_score, frozenset(h.path for h in first), vote)
        return (first + rest)[:k]
    return _hits(lib, query_vector(lib, query), k, min_score, query.own_photos)


def _filtered(
    lib: Library, query: Query, rows: list[tuple[int, str, str | None]], k: int, min_score: float
) -> list[Hit]:
    """The query over the photos its filters matched (`rows`: id, path, taken; newest first)."""
    if not query.terms:
        return [Hit(0.0, path, taken) for _, path, taken in rows[: max(k, 0)]]
    if k <= 0:
        return []
    exclude = query.own_photos
    ids = [i for i, path, _ in rows if path not in exclude]
    vector = query_vector(lib, query)
    plain = query.plain_text
    vote = voted_label(lib, clean_query(plain)) if plain is not None else None
    if vote is not None:  # the matching photos nearest the query (all when few), scored with the vote
        return _exact(lib, vector, _vote_candidates(lib, vector, ids, k), k, min_score, vote=vote)
    index = lib.index
    if len(ids) > EXACT_FILTER_MAX:
        found, scores = index.search_among(vector, k, set(ids))
        if len(found) == min(k, len(ids)):  # every one matches; else (rare) rank them all below
            paths = lib.catalog.paths_for(found.tolist())
            return [Hit(float(sc), p) for sc, p in zip(scores.tolist(), paths, strict=True) if p and sc >= min_score]
    return _exact(lib, vector, ids, k, min_score)


def _vote_candidates(lib: Library, vector: np.ndarray, ids: list[int], k: int) -> list[int]:
    """The photos of `ids` a label query's vote re-ranks: all of them while they are at most VOTE_CANDIDATES (or k),
    else the index's nearest among them, as an unfiltered label query takes the index's nearest: the vote then
    reads a bounded number of vectors, however many photos a filter or a keyword lets through."""
    wanted = max(VOTE_CANDIDATES, k)
    if len(ids) <= wanted:
        return ids
    found, _ = lib.index.search_among(vector, wanted, set(ids))
    if len(found):  # (rare) fewer than asked: the nearest the index reached
        return [int(i) for i in found.tolist()]
    return _nearest_exactly(lib, vector, ids, wanted)  # the index reached none of them


def _nearest_exactly(lib: Library, vector: np.ndarray, ids: list[int], wanted: int) -> list[int]:
    """The `wanted` of `ids` nearest to `vector` by exact cosine, their vectors read VOTE_READ_BLOCK at a time (the
    index's filtered search came back empty; hnswlib does when its graph cannot reach enough allowed photos)."""
    best_ids, best = np.zeros(0, np.int64), np.zeros(0, np.float32)
    for start in range(0, len(ids), VOTE_READ_BLOCK):
        block = np.asarray(ids[start : start + VOTE_READ_BLOCK], np.int64)
        cosines = lib.space.images(lib.catalog.vectors_for(block.tolist(), lib.dim)) @ vector.astype(np.float32)
        best_ids, best = np.concatenate([best_ids, block]), np.concatenate([best, cosines])
        if len(best) > wanted:
            keep = np.argpartition(-best, wanted)[:wanted]
            best_ids, best = best_ids[keep], best[keep]
    return [int(i) for i in best_ids[np.argsort(-best, kind="stable")]]


def _exact(
    lib: Library,
    vector: np.ndarray,
    ids: list[int],
    k: int,
    min_score: float,
    by_keyword: bool = False,
    vote: int | None = None,
) -> list[Hit]:
    """The best k of `ids` by exact cosine with `vector` (their vectors read from the catalog in the library's
    space: no approximate index, so nothing that matches is missed); with `vote`, that label's training photos'
    vote added (`LabelCache.lift`)."""
    if k <= 0 or not ids:
        return []
    vectors = lib.space.images(lib.catalog.vectors_for(ids, lib.dim))
    cosines = vectors @ vector.astype(np.float32)
    voting = lib.space.query_vote if isinstance(lib.space, LabelSpace) else None
    lifted = vote is not None and voting is not None
    scores = voting.lift(cosines, vectors, vote) if vote is not None and voting is not None else cosines
    # --min-score is a cosine (compared as Python floats, as in _hits); the vote only orders what passes it
    order = [j for j in np.argsort(-scores, kind="stable").tolist() if float(cosines[j]) >= min_score][:k]
    paths = lib.catalog.paths_for([ids[j] for j in order])
    return [
        Hit(float(scores[j]), p, by_keyword=by_keyword, cosine=float(cosines[j]) if lifted else None)
        for j, p in zip(order, paths, strict=True)
        if p is not None
    ]


def search_image(lib: Library, path: str | os.PathLike[str], k: int = 20, min_score: float = -1.0) -> list[Hit]:
    """Photos most similar to the photo at `path` (the photo itself left out)."""
    absolute = os.path.abspath(os.fspath(path))
    return _hits(lib, image_vector(lib, absolute), k, min_score, exclude=frozenset({absolute}))
