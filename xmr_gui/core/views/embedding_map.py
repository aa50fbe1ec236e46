"""A 2-D map of the shared space: images, label embeddings and queries together (PCA at once, UMAP later).

The projection is fitted on the photos and cached per (index contents, space, method) in the library folder.
Label embeddings and text queries are then placed at the similarity-weighted mean of the photos closest to
them in the shared space (k-nearest-neighbour interpolation): GCN label classifiers and text vectors sit
apart from the photos (the modality gap), and fitting them into UMAP would push them into a corner of
their own; placed this way they sit where their photos are, and typing a new query never refits UMAP.

Readable at first sight. Photos of a labelled set form tight, far-apart clusters: with UMAP's defaults
(n_neighbors 15, min_dist 0.1) the demo world's 200 photos filled 10% of a 12×12 grid over the plot. The map now
uses a wider neighbourhood and looser packing (n_neighbors 30, min_dist 0.8, spread 1.5) and shows the
projection through `spread_out`, which squeezes the empty gaps between clusters (half rank, half linear per
axis): 31% of the grid filled, 89% of each photo's 10 nearest neighbours on the map kept (bench: the demo
checkpoint on `xmr demo --size 200`). An image's labels are listed best first (`MapData.labels`), so the
window colours each photo by its top label.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np

from ..base.errors import XmrError
from ..base.files import atomic_write, save_npy
from ..learn.space import LabelSpace
from ..store.library import Library
from .bookmark import DEFAULT_LAYOUT, LAYOUTS
from .clusters import MapClusters

METHODS = ("pca", "umap")


class MapError(XmrError):
    """A map that cannot be made or read (unknown projection, UMAP not installed, not a map CSV)."""


@dataclass
class MapData:
    kinds: list[str]  # "image" | "label" | "text"
    refs: list[str]  # absolute path (image) or text (label / query)
    # ";"-joined labels of an image, best first (by the checkpoint's classifiers where it has them): those of
    # labels.jsonl if the folder has one, else the checkpoint's with probability >= 0.5 (or its best alone when
    # none reaches 0.5); a label: the label itself
    labels: list[str]
    vectors: np.ndarray  # (n, d) unit vectors in the library's space
    xy: np.ndarray | None = None  # (n, 2): the default layout (`layouts[DEFAULT_LAYOUT]` when built by build_map)
    clusters: MapClusters | None = None  # the photos' named clusters (`clusters.name_clusters`)
    layouts: dict[str, np.ndarray] = field(default_factory=dict)  # LAYOUTS name → (n, 2), labels and queries placed

    def __len__(self) -> int:
        return len(self.kinds)

    def rows(self) -> list[tuple[str, str, str, float, float, str]]:
        """(kind, path or text, labels, x, y, cluster name) per row: the CSV's rows."""
        assert self.xy is not None
        c = self.clusters
        return [
            (k, r, lab, float(x), float(y), c.name_of_row(i) if c is not None else "")
            for i, (k, r, lab, (x, y)) in enumerate(zip(self.kinds, self.refs, self.labels, self.xy, strict=False))
        ]


def _known_labels(folder: str) -> dict[str, list[str]]:
    """path → labels from a labels.jsonl beside or above the photo folder (a labelled dataset), if any."""
    for root in (Path(folder), Path(folder).parent):
        file = root / "labels.jsonl"
        if file.is_file():
            out = {}
            for line in file.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    out[str((root / row["file"]).resolve())] = list(row.get("labels", []))
            return out
    return {}


def collect(lib: Library) -> MapData:
    """Every indexed image and every label embedding of the library's space."""
    ids, feats = lib.catalog.indexed_vectors(lib.dim)
    vectors = lib.space.images(feats) if len(ids) else np.zeros((0, lib.space.dim or lib.dim), np.float32)
    paths = lib.catalog.paths_by_id()
    refs = [paths[int(i)] for i in ids]
    known = _known_labels(lib.folder)
    space = lib.space if isinstance(lib.space, LabelSpace) else None  # a checkpoint's: it has label classifiers
    names: list[str] = list(space.labels if space else []) or sorted({x for v in known.values() for x in v})
    p = space.label_probabilities(vectors) if space is not None and len(refs) else None
    if known:
        labels = []
        for i, r in enumerate(refs):
            mine = known.get(str(Path(r).resolve()), [])
            if p is not None:  # best first by the checkpoint's classifiers (a label it lacks goes last)
                score = dict(zip(names, p[i].tolist(), strict=False))
                mine = sorted(mine, key=lambda x: -score.get(x, -1.0))
            labels.append(";".join(mine))
    elif p is not None:  # those at probability >= 0.5, best first; the best alone when none reaches it
        labels = [
            ";".join(names[j] for j in np.argsort(-row) if row[j] >= 0.5) or names[int(row.argmax())] for row in p
        ]
    else:
        labels = [""] * len(refs)
    kinds = ["image"] * len(refs)
    if names:
        if space is not None:
            lv = space.classifiers / np.maximum(np.linalg.norm(space.classifiers, axis=1, keepdims=True), 1e-12)
        else:
            from ..search.labels import label_vectors

            lv = label_vectors(lib, names)
        vectors = np.concatenate([vectors, lv.astype(np.float32)])
        kinds += ["label"] * len(names)
        refs += names
        labels += names
    return MapData(kinds, refs, labels, np.asarray(vectors, np.float32))


def project(vectors: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """(n, d) → (n, 2): PCA (exact, instant) or UMAP (cosine, seeded, so the same inputs give the same map)."""
    if method not in METHODS:
        raise MapError(f"unknown projection {method!r}: use {' or '.join(METHODS)}")
    n = len(vectors)
    if n < 3:
        return np.zeros((n, 2), np.float32)
    if method == "pca":
        centred = vectors - vectors.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        return cast(np.ndarray, (centred @ vt[:2].T).astype(np.float32))
    try:
        import umap
    except ImportError:
        raise MapError("UMAP needs umap-learn (pip install 'xmr[gui]'), which this install lacks: use PCA") from None

    reducer = umap.UMAP(
        n_components=2,
        n_neighbors=min(30, n - 1),
        min_dist=0.8,
        spread=1.5,
        metric="cosine",
        random_state=seed,
        n_jobs=1,  # seeded UMAP is single-threaded anyway; saying so avoids its warning
        init="spectral" if n > 16 else "random",
    )
    return np.asarray(reducer.fit_transform(vectors), np.float32)


def cache_key(lib: Library, method: str, n: int) -> str:
    text = f"{lib.space.identity}|{lib.catalog.seq}|{lib.catalog.count()}|{method}|{n}|v4"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_map(
    lib: Library,
    method: str = "pca",
    queries: Sequence[str] = (),
    on_cache: Callable[[bool], None] | None = None,
    *,
    layout: str = DEFAULT_LAYOUT,
    vocabulary: str | os.PathLike[str] | None = None,
    clusters: bool = True,
) -> MapData:
    """The map of `lib` (cached in its folder per index contents + space + method), with `queries` placed on it:
    every layout of LAYOUTS in `layouts`, `layout` as `xy`, and the photos' named clusters (named from
    `vocabulary`, a file of concepts, else the model's own: `clusters.vocabulary_for`) unless `clusters` is False."""
    if layout not in LAYOUTS:
        raise MapError(f"unknown layout {layout!r}: use {' or '.join(LAYOUTS)}")
    data = collect(lib)
    is_image = np.array([k == "image" for k in data.kinds], bool)
    n_images = int(is_image.sum())
    key = cache_key(lib, method, n_images)
    cache = lib.db_dir / f"map-{method}-{key}.npy"
    hit = cache.exists()
    if hit:
        image_xy = np.load(cache, allow_pickle=False)
    else:
        image_xy = project(data.vectors[is_image], method)
        for stale in lib.db_dir.glob(f"map-{method}-*.npy"):
            stale.unlink(missing_ok=True)
        atomic_write(cache, lambda tmp: save_npy(tmp, image_xy))
    if on_cache is not None:
        on_cache(hit)
    data.layouts = {name: _place_all(lib, data, is_image, lay(image_xy, name)) for name in LAYOUTS}
    data.xy = data.layouts[layout]
    if clusters and n_images:
        data.clusters = _clusters(lib, data, is_image, cache_key(lib, "clusters", n_images), vocabulary)
    return add_queries(lib, data, queries)


def _clusters(
    lib: Library, data: MapData, is_image: np.ndarray, key: str, vocabulary: str | os.PathLike[str] | None
) -> MapClusters:
    """The photos' named clusters; the clustering (k-means: seconds at 10,000 photos) cached beside the map, so a
    new query does not redo it. Naming is a product with the vocabulary, done each time."""
    from .clusters import cluster_vectors, name_clusters, vocabulary_for

    cache = lib.db_dir / f"map-clusters-{key}.npy"
    labels = np.load(cache, allow_pickle=False) if cache.exists() else None
    if labels is None or len(labels) != int(is_image.sum()):
        labels = cluster_vectors(data.vectors[is_image])
        for stale in lib.db_dir.glob("map-clusters-*.npy"):
            stale.unlink(missing_ok=True)
        atomic_write(cache, lambda tmp: save_npy(tmp, labels))
    assert data.xy is not None
    return name_clusters(data.vectors, is_image, data.xy, vocabulary_for(lib, vocabulary), labels=labels)


def lay(xy: np.ndarray, layout: str) -> np.ndarray:
    """The projection `xy` in `layout`: "spread" (`spread_out`) or "computed" (scaled into [-1, 1]², one scale)."""
    if layout == "spread":
        return spread_out(xy)
    if layout == "computed":
        xy = np.asarray(xy, np.float64)
        if len(xy) == 0:
            return np.zeros((0, 2), np.float32)
        mid = (xy.max(0) + xy.min(0)) / 2
        half = float((xy.max(0) - xy.min(0)).max()) / 2
        return cast(np.ndarray, ((xy - mid) / (half if half > 0 else 1.0)).astype(np.float32))
    raise MapError(f"unknown layout {layout!r}: use {' or '.join(LAYOUTS)}")


def _place_all(lib: Library, data: MapData, is_image: np.ndarray, image_xy: np.ndarray) -> np.ndarray:
    """(n, 2) for every row: the photos at `image_xy`, labels placed among them."""
    xy = np.zeros((len(data), 2), np.float32)
    xy[is_image] = image_xy
    if len(image_xy) and (~is_image).any():
        if isinstance(lib.space, LabelSpace) and data.kinds.count("label") == len(lib.space.labels):
            # A checkpoint's labels go where its classifiers score highest: each column of probabilities has the
            # label's own bias, where raw cosine similarity lets a few hub photos attract every label
            scores = lib.space.label_probabilities(data.vectors[is_image]).T
            xy[~is_image] = place_by_scores(scores, image_xy)
        else:
            xy[~is_image] = place(data.vectors[~is_image], data.vectors[is_image], image_xy)
    return xy


def spread_out(xy: np.ndarray, rank_share: float = 0.5) -> np.ndarray:
    """Display coordinates in [-1, 1]²: per axis, `rank_share` of each point's rank plus the rest of its linear
    position. Order along each axis is kept; the empty gaps between far-apart clusters shrink and the tight
    clusters open up, so the photos use the plot (and one outlier no longer squeezes the rest into a corner)."""
    n = len(xy)
    if n < 2:
        return np.zeros((n, 2), np.float32)
    out = np.empty((n, 2), np.float64)
    for k in range(2):
        v = np.asarray(xy[:, k], np.float64)
        rank = np.argsort(np.argsort(v, kind="stable"), kind="stable") / (n - 1)
        span = float(v.max() - v.min())
        linear = (v - v.min()) / span if span > 0 else np.full(n, 0.5)
        out[:, k] = rank_share * rank + (1 - rank_share) * linear
    return cast(np.ndarray, (out * 2 - 1).astype(np.float32))


def place(vectors: np.ndarray, anchors: np.ndarray, anchor_xy: np.ndarray, k: int = 5) -> np.ndarray:
    """2-D positions for `vectors`: the medoid (in 2-D) of their k most similar anchors.

    A medoid, not a mean: when the nearest photos fall in two clusters, a mean lands in the empty space
    between them, while the medoid stays inside the cluster most of them are in.
    """
    if len(anchors) == 0:
        return np.zeros((len(vectors), 2), np.float32)
    return place_by_scores(vectors @ anchors.T, anchor_xy, k)


def place_by_scores(scores: np.ndarray, anchor_xy: np.ndarray, k: int = 5) -> np.ndarray:
    """2-D positions for the rows of `scores` (n, anchors): the medoid of each row's k best-scoring anchors."""
    k = min(k, scores.shape[1])
    if k == 0:
        return np.zeros((len(scores), 2), np.float32)
    near = np.argsort(-scores, axis=1)[:, :k]
    pts = anchor_xy[near]  # (n, k, 2)
    spread = np.linalg.norm(pts[:, :, None, :] - pts[:, None, :, :], axis=-1).sum(-1)  # (n, k)
    return cast(np.ndarray, pts[np.arange(len(scores)), np.argmin(spread, axis=1)].astype(np.float32))


def photos_with_label(data: MapData, label: str) -> list[str]:
    """The photos of the map that carry `label` (see `MapData.labels`: the folder's labels.jsonl when it has one,
    else the checkpoint's classifiers at probability >= 0.5), in map order."""
    return [
        ref
        for kind, ref, labels in zip(data.kinds, data.refs, data.labels, strict=False)
        if kind == "image" and label in labels.split(";")
    ]


def add_queries(lib: Library, data: MapData, queries: Sequence[str]) -> MapData:
    """Place text queries on the map (as labels are placed: at their closest photos), each by the vector its search
    ranks by (`search.photos.text_vector`: with a checkpoint, a query naming a label is its classifier's)."""
    from ..search.photos import text_vector

    queries = [q for q in queries if q.strip()]
    if not queries or data.xy is None or len(data) == 0:
        return data
    q = np.stack([text_vector(lib, query) for query in queries]).astype(np.float32)
    is_image = np.array([k == "image" for k in data.kinds], bool)

    def placed(xy: np.ndarray) -> np.ndarray:
        return np.concatenate([xy, place(q, data.vectors[is_image], xy[is_image])])

    n = len(data) + len(queries)
    return MapData(
        data.kinds + ["text"] * len(queries),
        data.refs + list(queries),
        data.labels + [""] * len(queries),
        np.concatenate([data.vectors, q]),
        placed(data.xy),
        data.clusters.extended(n) if data.clusters is not None else None,
        {name: placed(xy) for name, xy in data.layouts.items()},
    )


CSV_HEADER = ("kind", "path_or_text", "labels", "x", "y", "cluster")


def write_csv(rows: Sequence[tuple[str, str, str, float, float, str]], path: str | os.PathLike[str]) -> Path:
    """The map's rows as CSV (CSV_HEADER; "cluster" is the photo's cluster name, empty for labels and queries)."""
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(CSV_HEADER)
        for kind, ref, labels, x, y, cluster in rows:
            w.writerow([kind, ref, labels, f"{x:.6f}", f"{y:.6f}", cluster])
    return path
