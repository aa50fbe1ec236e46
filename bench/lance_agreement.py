"""The LanceDB backend against hnswlib on the same vectors (issue #28 item 1): do their top-10 agree, and at what cost.

    python bench/lance_agreement.py [--sizes 5000 20000] [--dim 128] [--queries 300]

For each size: clustered unit vectors (Gaussian blobs around 50 centres, like photo embeddings' neighbourhoods), the
store layer's `VectorIndex` (hnswlib, default parameters) and `LanceIndex` (`lance_index.PARAMS`, trained by `save`
as in a library), both fed the same rows. Printed: top-10 overlap of LanceDB with hnswlib and of each with exact
numpy; build seconds (hnswlib add; Lance append in batches of 32 as the indexer writes, then save = train +
optimize); milliseconds per query (all queries in one call); a filtered search (`search_among`, 30 % allowed).
The scale helper measures 100k-1M; this is the agreement check at library sizes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def clustered(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(50, d))[rng.integers(0, 50, n)] + 0.7 * rng.normal(size=(n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean([len(set(x) & set(y)) / len(y) for x, y in zip(a.tolist(), b.tolist(), strict=True)]))


def one(n: int, d: int, queries: int, real: np.ndarray | None = None) -> None:
    from xmr_gui.core.store.lance_index import PARAMS, LanceIndex
    from xmr_gui.core.store.vindex import VectorIndex

    if real is not None:  # real-model vectors: the first n indexed, the last `queries` asked (never indexed)
        x, q, d = real[:n], real[-queries:], real.shape[1]
        assert n + queries <= len(real)
    else:
        x, q = clustered(n, d, 0), clustered(queries, d, 1)
    ids = np.arange(1, n + 1)
    exact = ids[np.argsort(-(q @ x.T), axis=1)[:, :10]]
    t = time.perf_counter()
    hnsw = VectorIndex(d, capacity=n)
    hnsw.add(ids, x)
    hnsw_build = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as folder:
        t = time.perf_counter()
        lance = LanceIndex.create(folder, None, "bench", d)
        for start in range(0, n, 32):
            lance.add(ids[start : start + 32], x[start : start + 32])
        appended = time.perf_counter() - t
        t = time.perf_counter()
        lance.save(folder, "bench", {})
        trained = time.perf_counter() - t
        t = time.perf_counter()
        got, _ = lance.search(q, 10)
        lance_q = (time.perf_counter() - t) / queries * 1000
        t = time.perf_counter()
        want, _ = hnsw.search(q, 10)
        hnsw_q = (time.perf_counter() - t) / queries * 1000
        allowed = set(range(1, n + 1, 3))
        t = time.perf_counter()
        for v in q[:20]:
            lance.search_among(v, 10, allowed)
        among = (time.perf_counter() - t) / 20 * 1000
        index = "flat (exact)" if n < PARAMS.ann_min_rows else PARAMS.index_type
        print(
            f"| {n} | {d} | {index} | {overlap(got, want):.3f} | {overlap(got, exact):.3f} | "
            f"{overlap(want, exact):.3f} | {hnsw_build:.1f} | {appended:.1f} + {trained:.1f} | "
            f"{hnsw_q:.2f} | {lance_q:.2f} | {among:.1f} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000, 20000])
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument(
        "--real", help="a .npy of unit vectors (e.g. bench/scale_bench.py's real caption vectors) instead of blobs"
    )
    args = ap.parse_args()
    real = np.load(args.real, allow_pickle=False).astype(np.float32) if args.real else None
    print(
        "| rows | dim | lance index | top-10 lance vs hnswlib | lance vs exact | hnswlib vs exact | hnswlib build s "
        "| lance append + save s | hnswlib ms/query | lance ms/query | lance filtered ms/query (30 %) |"
    )
    print("|" + "---|" * 11)
    for n in args.sizes:
        one(n, args.dim, args.queries, real)


if __name__ == "__main__":
    main()
