"""Named clusters for a map without a checkpoint: photos grouped in the model's space, each group named by the
concepts the model knows nearest to it.

Clustering is in the full space (unit vectors; Euclidean distance between them orders as cosine does), never in
2-D, so the groups are the model's and not an artefact of the layout. k-means (scikit-learn) with k = sqrt(n / 2),
at most `MAX_CLUSTERS`. Chosen by measurement (bench/map_layouts.py, bench/RESULTS.md "A map worth looking at"):
on 452 real photos the silhouette is flat (0.13-0.15 for every k from 6 to 20) and picked k = 2 (animals and the
rest); Ward agglomeration matched k-means (adjusted mutual information with tuxpaint's folders 0.39 against 0.38
at k = 12) but needs memory quadratic in the photos; HDBSCAN left 28% of the photos as noise.

Naming: each cluster's mean vector is scored against a vocabulary in the same space (`Vocabulary`: the offline
model's ImageNet classes and WordNet groups, a checkpoint's labels, the built-in photo words for a CLIP model, or
a file the user gives). A concept is ranked by its similarity minus its mean similarity over all clusters
(distinctive for this cluster, so neighbouring clusters do not all get "dog"), among the concepts most similar to
the cluster; a name is one concept, or two when the second is at least as similar to the cluster and shares no
word with the first (at most `MAX_WORDS` words), and no two clusters share a first concept.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np

from ..learn.space import LabelSpace
from ..store.library import Library

MAX_CLUSTERS = 16  # more names than this crowd the map
MIN_CLUSTERS = 2
MIN_SIZE = 3  # a cluster of fewer photos joins the nearest larger one
MAX_WORDS = 3
SHORTLIST = 12  # a cluster's name is chosen among its this many most similar concepts
NAME_SEP = " · "


@dataclass(frozen=True)
class Vocabulary:
    """Concept names and their unit vectors in the library's space (what cluster names are chosen from)."""

    names: list[str]
    vectors: np.ndarray  # (V, d)
    what: str  # e.g. "ImageNet's classes and their WordNet groups"


@dataclass
class MapClusters:
    """Clusters of a map's photos. Rows are `MapData`'s rows; label and query rows (and noise) are -1."""

    of_row: list[int]  # cluster index per MapData row, -1 for label / text rows or noise
    names: list[str]  # one per cluster, e.g. "tabby cat · Egyptian cat"
    centres: np.ndarray  # (n_clusters, 2) in the default layout's coordinates: where to draw each name
    sizes: list[int]  # photos per cluster
    concepts: list[list[str]]  # per cluster, its distinctive concepts best first (the name is their head)
    vocabulary: str  # what the names were chosen from (`Vocabulary.what`)

    def __len__(self) -> int:
        return len(self.names)

    def name_of_row(self, row: int) -> str:
        c = self.of_row[row]
        return self.names[c] if c >= 0 else ""

    def centres_in(self, xy: np.ndarray) -> np.ndarray:
        """Where each cluster's name goes in another layout `xy` (one row per MapData row)."""
        return centres(np.asarray(self.of_row), xy, len(self.names))

    def extended(self, n_rows: int) -> MapClusters:
        """The same clusters for a map with `n_rows` rows (queries appended: -1)."""
        return MapClusters(
            self.of_row + [-1] * (n_rows - len(self.of_row)),
            self.names,
            self.centres,
            self.sizes,
            self.concepts,
            self.vocabulary,
        )


def centres(of_row: np.ndarray, xy: np.ndarray, n_clusters: int) -> np.ndarray:
    """Per cluster, the medoid of its points in `xy` (a point of the cluster, so the name sits on its photos even
    when the cluster is not convex on the map)."""
    out = np.zeros((n_clusters, 2), np.float32)
    for c in range(n_clusters):
        pts = np.asarray(xy, np.float64)[of_row == c]
        if len(pts):
            med = np.median(pts, axis=0)
            out[c] = pts[int(np.argmin(np.linalg.norm(pts - med, axis=1)))]
    return out


def cluster_count(n: int) -> int:
    """How many clusters for `n` photos: sqrt(n / 2), within MIN_CLUSTERS..MAX_CLUSTERS (144 photos: 8; 452: 15)."""
    return int(min(MAX_CLUSTERS, max(MIN_CLUSTERS, round(np.sqrt(n / 2)))))


def cluster_vectors(vectors: np.ndarray, seed: int = 0, k: int | None = None) -> np.ndarray:
    """Cluster unit vectors: (n,) cluster indices 0..k'-1 (k-means, k = `cluster_count` unless given), largest
    first; a cluster of fewer than MIN_SIZE photos joins the nearest larger one, so no name labels one stray
    photo."""
    from sklearn.cluster import KMeans

    x = np.asarray(vectors, np.float64)
    n = len(x)
    if n == 0:
        return np.zeros(0, np.int64)
    k = cluster_count(n) if k is None else k
    if n < 2 * k:
        return np.zeros(n, np.int64)
    km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(x)
    labels = km.labels_.astype(np.int64)
    sizes = np.bincount(labels, minlength=k)
    keep = np.flatnonzero(sizes >= min(MIN_SIZE, int(sizes.max())))
    if len(keep) < k:
        centres = km.cluster_centers_[keep]
        small = ~np.isin(labels, keep)
        labels[small] = keep[np.argmin(((x[small, None, :] - centres[None]) ** 2).sum(-1), axis=1)]
    order = [int(c) for c in np.argsort(-np.bincount(labels, minlength=k), kind="stable") if (labels == c).any()]
    remap = np.full(k, -1, np.int64)
    remap[order] = np.arange(len(order))
    return cast(np.ndarray, remap[labels])


def name_concepts(means: np.ndarray, vocabulary: Vocabulary, per_cluster: int = 6) -> list[list[tuple[str, float]]]:
    """Per cluster mean vector, its most distinctive concepts, best first (distinct names), each with its own
    similarity to the cluster."""
    v = vocabulary.vectors
    scores = np.asarray(means, np.float64) @ np.asarray(v, np.float64).T  # (C, V)
    distinct = scores - scores.mean(axis=0, keepdims=True) if len(scores) > 1 else scores
    out = []
    for c in range(len(scores)):
        shortlist = np.argsort(-scores[c], kind="stable")[: max(SHORTLIST, per_cluster)]
        ranked = shortlist[np.argsort(-distinct[c, shortlist], kind="stable")]
        found: dict[str, float] = {}
        for j in ranked:
            found.setdefault(vocabulary.names[j], float(scores[c, j]))
        out.append(list(found.items())[:per_cluster])
    return out


def _names(concepts: list[list[tuple[str, float]]], sizes: Sequence[int]) -> list[str]:
    """A name per cluster: its first concept not yet taken by a larger cluster, then a second one that is at least
    as similar to the cluster and says something else (no shared word: "bird · aquatic bird" says nothing, and a
    less similar one such as "ungulate · ostrich" names a few of its photos, not the group), within MAX_WORDS."""
    taken: set[str] = set()
    names = [""] * len(concepts)
    for c in sorted(range(len(concepts)), key=lambda c: -sizes[c]):
        free = [(x, s) for x, s in concepts[c] if x not in taken]
        if not free:  # a small vocabulary ran out: the best concept again, numbered
            base = concepts[c][0][0] if concepts[c] else "group"
            free = [(next(f"{base} {i}" for i in range(2, len(concepts) + 3) if f"{base} {i}" not in taken), 0.0)]
        head, score = free[0]
        taken.add(head)
        name = head
        for other, other_score in free[1:]:
            words = set(other.split())
            if (
                other_score >= score
                and len((head + " " + other).split()) <= MAX_WORDS
                and not set(head.split()) & words
            ):
                name = head + NAME_SEP + other
                break
        names[c] = name
    return names


def name_clusters(
    vectors: np.ndarray,
    is_image: np.ndarray,
    xy: np.ndarray,
    vocabulary: Vocabulary,
    seed: int = 0,
    k: int | None = None,
    labels: np.ndarray | None = None,
) -> MapClusters:
    """Cluster the rows of `vectors` where `is_image` (in the full space) and name each cluster from `vocabulary`;
    `xy` is the default layout (one row per row of `vectors`), for the names' places. `labels` (one cluster index
    per image row, as `cluster_vectors` returns) skips the clustering: the map caches them."""
    is_image = np.asarray(is_image, bool)
    rows = np.flatnonzero(is_image)
    labels = cluster_vectors(vectors[rows], seed, k) if labels is None else np.asarray(labels, np.int64)
    n_clusters = int(labels.max()) + 1 if len(labels) else 0
    of_row = np.full(len(vectors), -1, np.int64)
    of_row[rows] = labels
    sizes = [int((labels == c).sum()) for c in range(n_clusters)]
    means = np.stack([vectors[rows][labels == c].mean(axis=0) for c in range(n_clusters)]) if n_clusters else None
    concepts = name_concepts(means, vocabulary) if means is not None else []
    names = _names(concepts, sizes)
    listed = [[x for x, _ in row] for row in concepts]
    return MapClusters(of_row.tolist(), names, centres(of_row, xy, n_clusters), sizes, listed, vocabulary.what)


def vocabulary_for(lib: Library, path: str | os.PathLike[str] | None = None) -> Vocabulary:
    """What the library's clusters are named from: `path` (one concept per line) if given, else a checkpoint's
    labels, else the model's own concepts (imagenet-minilm), else the built-in photo words (CLIP)."""
    from ..search.known import known
    from ..search.labels import label_vectors, read_vocabulary

    if path is not None:
        names = read_vocabulary(path)
        return Vocabulary(names, label_vectors(lib, names), f"the {len(names)} concepts of {os.fspath(path)}")
    space = lib.space
    if isinstance(space, LabelSpace):
        c = space.classifiers / np.maximum(np.linalg.norm(space.classifiers, axis=1, keepdims=True), 1e-12)
        return Vocabulary(list(space.labels), c.astype(np.float32), "the checkpoint's labels")
    k = known(lib)
    if k is not None:
        return Vocabulary(list(k.names), k.vectors, k.what)
    names = read_vocabulary()
    return Vocabulary(names, label_vectors(lib, names), f"xmr's {len(names)} built-in photo words")
