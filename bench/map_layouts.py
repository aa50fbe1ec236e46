"""The map on real photos without a checkpoint (issue #27): does each layout keep neighbourhoods, and do the
clusters match the photos' folders?

    python bench/map_layouts.py [--seeds 0 1 2] [--work /tmp/xmr_map_layouts] [--scale 10000]

Photos: tuxpaint's stamps without cartoon/ and symbols/ (430, GPL, fetched by bench/offline_model.py, never
committed) and scikit-image's 22 sample photos, indexed with the offline model (imagenet-minilm lite0) through
`xmr index`, no checkpoint. For each projection (PCA; UMAP with each seed) and each layout (the map's "spread" at
the shipped rank share and milder ones, "computed"): trustworthiness (scikit-learn) and k-NN recall at k = 10 in
the full space (cosine), and the fill of a 12×12 grid over the plot. t-SNE (scikit-learn) is measured beside them
as a reference, not offered. Clusterings of the same vectors (k-means with k = sqrt(n / 2), the map's; k-means
and agglomerative Ward with k by silhouette; Ward at the map's k; HDBSCAN) against tuxpaint's folders (two levels,
e.g. animals/birds): purity, adjusted mutual information, clusters, noise. Then the map's cluster names, each with
its photos' most common folders.
`--scale N`: clustering time on N seeded clustered vectors of the model's dimension.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import offline_model as om  # noqa: E402
from real_photos import MODEL, cli, copy_skimage, cpu_name, link_collection  # noqa: E402

K = 10
SHARES = (0.5, 0.35, 0.25)  # spread_out's rank share: 0.5 is what the map shipped with


def folder_of(path: Path, root: Path) -> str:
    parts = path.relative_to(root).parts[:-1]
    return "/".join(parts[:2])


def purity(pred: np.ndarray, truth: list[str]) -> float:
    total = 0
    for c in set(pred.tolist()):
        if c < 0:
            continue
        members = [t for p, t in zip(pred.tolist(), truth, strict=True) if p == c]
        total += collections.Counter(members).most_common(1)[0][1]
    return total / len(truth)


def silhouette_k(x: np.ndarray, fit, ks: range, seed: int = 0) -> np.ndarray:
    from sklearn.metrics import silhouette_score

    best, best_s = None, -2.0
    for k in ks:
        labels = fit(k)
        s = float(silhouette_score(x, labels))
        if s > best_s:
            best, best_s = labels, s
    assert best is not None
    return best


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--work", type=Path, default=Path("/tmp/xmr_map_layouts"))
    p.add_argument("--scale", type=int, default=10000)
    args = p.parse_args()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    from xmr_gui.core.base import paths

    os.environ.setdefault("XMR_CACHE_DIR", str(paths.cache_dir()))  # the user's ONNX exports, made once
    os.environ.setdefault("XMR_HOME", str(work / "home"))

    from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans
    from sklearn.manifold import TSNE
    from sklearn.metrics import adjusted_mutual_info_score

    from xmr_gui.cli.common import open_library
    from xmr_gui.core.views.clusters import cluster_count, cluster_vectors, name_clusters, vocabulary_for
    from xmr_gui.core.views.embedding_map import collect, lay, project, spread_out
    from xmr_gui.core.views.neighbourhoods import grid_fill, knn_recall, trustworthiness

    root = om.tuxpaint_root()
    col = om.tuxpaint_collection(root)
    folder = work / "photos"
    tux = link_collection(col, root, folder / "tuxpaint")
    sk = copy_skimage(folder / "skimage")
    db = work / "db"
    if not (db / "catalog.sqlite").exists():
        t0 = time.perf_counter()
        cli("index", str(folder), "--db", str(db), *MODEL, "-q")
        print(f"indexed {len(tux) + len(sk)} photos in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    print(f"CPU: {cpu_name()}; {len(tux)} tuxpaint + {len(sk)} scikit-image photos, imagenet-minilm lite0, k = {K}")

    with open_library(str(db), None, None) as lib:
        data = collect(lib)
        is_image = np.array([k == "image" for k in data.kinds], bool)
        refs = [r for r, k in zip(data.refs, data.kinds, strict=True) if k == "image"]
        x = data.vectors[is_image]
        vocabulary = vocabulary_for(lib)
    print(f"{len(x)} photos, {x.shape[1]}-d\n")

    print("| projection | layout | trustworthiness | k-NN recall | 12×12 grid fill |")
    print("| --- | --- | --- | --- | --- |")
    layouts: dict[str, list[np.ndarray]] = collections.defaultdict(list)
    for method in ("pca", "umap"):
        for seed in args.seeds if method == "umap" else [0]:
            raw = project(x, method, seed)
            layouts[f"{method} computed"].append(lay(raw, "computed"))
            for share in SHARES:
                layouts[f"{method} spread {share}"].append(spread_out(raw, share))
    for seed in args.seeds:
        tsne = TSNE(2, perplexity=30, metric="cosine", random_state=seed, init="pca").fit_transform(x)
        layouts["t-SNE (reference) computed"].append(lay(tsne, "computed"))
    for name, runs in layouts.items():
        t = [trustworthiness(x, xy, K) for xy in runs]
        r = [knn_recall(x, xy, K) for xy in runs]
        f = [grid_fill(xy) for xy in runs]
        method, layout = name.rsplit(" ", 1) if name.endswith("computed") else name.split(" ", 1)
        seeds = f" ({len(runs)} seeds: min {min(t):.3f})" if len(runs) > 1 else ""
        print(f"| {method} | {layout} | {np.mean(t):.3f}{seeds} | {np.mean(r):.3f} | {np.mean(f):.0%} |", flush=True)

    truth = [folder_of(Path(r), folder / "tuxpaint") if "/tuxpaint/" in r else "skimage" for r in refs]
    tux_rows = np.array([t != "skimage" for t in truth])
    tux_truth = [t for t in truth if t != "skimage"]
    print(f"\n{len(set(tux_truth))} tuxpaint folders (two levels)\n")
    print("| clustering (full space) | clusters | purity | AMI | noise | seconds |")
    print("| --- | --- | --- | --- | --- | --- |")
    ks = range(2, 17)
    k_map = cluster_count(len(x))
    methods = {
        f"k-means, k = sqrt(n / 2) = {k_map} (the map's)": lambda: cluster_vectors(x, 0),
        "k-means, k by silhouette": lambda: silhouette_k(
            x, lambda k: KMeans(n_clusters=k, n_init=4, random_state=0).fit_predict(x), ks
        ),
        "agglomerative Ward, k by silhouette": lambda: silhouette_k(
            x, lambda k: AgglomerativeClustering(n_clusters=k).fit_predict(x), ks
        ),
        f"agglomerative Ward, k = {k_map}": lambda: AgglomerativeClustering(n_clusters=k_map).fit_predict(x),
        "HDBSCAN min_cluster_size 5": lambda: HDBSCAN(min_cluster_size=5, copy=True).fit_predict(x),
        "k-means, k = 8": lambda: cluster_vectors(x, 0, 8),
        "k-means, k = 24": lambda: cluster_vectors(x, 0, 24),
    }
    for name, fit in methods.items():
        t0 = time.perf_counter()
        pred = np.asarray(fit())
        secs = time.perf_counter() - t0
        pt = pred[tux_rows]
        n_c = len(set(pred.tolist()) - {-1})
        ami = adjusted_mutual_info_score(tux_truth, pt)
        noise = float((pred < 0).mean())
        print(f"| {name} | {n_c} | {purity(pt, tux_truth):.2f} | {ami:.2f} | {noise:.0%} | {secs:.1f} |", flush=True)

    xy = lay(project(x, "umap", 0), "spread")
    clusters = name_clusters(x, np.ones(len(x), bool), xy, vocabulary)
    print(f"\nThe map's clusters, named from {clusters.vocabulary}:\n")
    print("| name | photos | most common folders |")
    print("| --- | --- | --- |")
    for c in sorted(range(len(clusters)), key=lambda c: -clusters.sizes[c]):
        members = [t for t, o in zip(truth, clusters.of_row, strict=True) if o == c]
        common = ", ".join(f"{f} {n}" for f, n in collections.Counter(members).most_common(3))
        print(f"| {clusters.names[c]} | {clusters.sizes[c]} | {common} |")

    if args.scale:
        rng = np.random.default_rng(0)
        centres = rng.standard_normal((24, x.shape[1]))
        big = centres[rng.integers(0, 24, args.scale)] + 0.8 * rng.standard_normal((args.scale, x.shape[1]))
        big = (big / np.linalg.norm(big, axis=1, keepdims=True)).astype(np.float32)
        t0 = time.perf_counter()
        labels = cluster_vectors(big, 0)
        print(f"\nclustering {args.scale} vectors ({x.shape[1]}-d, 24 seeded clusters): "
              f"{time.perf_counter() - t0:.1f} s, k = {labels.max() + 1}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
