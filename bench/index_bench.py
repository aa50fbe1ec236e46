"""HNSW vs exact search, a parameter sweep, memory per vector, and the Qdrant backend, in one run.

    python bench/index_bench.py [--random 1000000] [--real 100000] [--queries 200]

"random": seeded unit vectors, 512-d. "real": vectors from a real model — the shipped demo checkpoint's text
tower on generated demo captions (no photos needed), projected into its shared space. Exact search (numpy
matrix product over all vectors) is the baseline measured in the same run; recall@10 is against it.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def exact(data: np.ndarray, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    out = np.empty((len(queries), k), np.int64)
    for i in range(0, len(queries), 16):
        s = queries[i : i + 16] @ data.T
        part = np.argpartition(-s, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(s, part, axis=1), axis=1)
        out[i : i + 16] = np.take_along_axis(part, order, axis=1)
    return out, (time.perf_counter() - t0) / len(queries)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=False)]))


def hnsw_run(data, queries, truth, M, efc, efs_list):  # type: ignore[no-untyped-def]
    from xmr_gui.core.store.vindex import HnswParams, VectorIndex

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    index = VectorIndex(data.shape[1], HnswParams(M=M, ef_construction=efc, ef=efs_list[0]), capacity=len(data))
    index.add(np.arange(len(data)), data)
    build = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as d:
        index.save(d, "idx")
        disk = sum(p.stat().st_size for p in Path(d).iterdir())
    rows = []
    for ef in efs_list:
        index.params = HnswParams(M=M, ef_construction=efc, ef=ef)
        index._index.set_ef(ef)
        t0 = time.perf_counter()
        found = np.stack([index.search(q[None], 10)[0][0] for q in queries])
        per = (time.perf_counter() - t0) / len(queries)
        rows.append((ef, recall(found, truth), per))
    del index
    return build, disk / len(data), rows, rss0


def sweep(name: str, data: np.ndarray, queries: np.ndarray, grid) -> None:  # type: ignore[no-untyped-def]
    truth, exact_s = exact(data, queries)
    print(f"\n## {name}: {len(data)} × {data.shape[1]}, exact numpy search {exact_s * 1000:.1f} ms/query")
    print("| M | ef_construction | build s | bytes/vector | ef | recall@10 | ms/query | speed-up vs exact |")
    print("|---|---|---|---|---|---|---|---|")
    for M, efc, efs in grid:
        build, per_vec, rows, _ = hnsw_run(data, queries, truth, M, efc, efs)
        for ef, r, per in rows:
            print(
                f"| {M} | {efc} | {build:.0f} | {per_vec:.0f} | {ef} | {r:.4f} | {per * 1000:.3f} "
                f"| {exact_s / per:.0f}× |",
                flush=True,
            )


def qdrant_vs_hnsw(data: np.ndarray, queries: np.ndarray) -> None:
    from xmr_gui.core.store.qdrant_index import QdrantIndex
    from xmr_gui.core.store.vindex import HnswParams, VectorIndex

    truth, exact_s = exact(data, queries)
    print(f"\n## backends on the same {len(data)} vectors ({data.shape[1]}-d), {len(queries)} queries")
    print("| backend | build s | recall@10 | queries/s |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as d:
        for name in ("hnsw", "qdrant"):
            t0 = time.perf_counter()
            if name == "hnsw":
                index = VectorIndex(data.shape[1], HnswParams(M=16, ef_construction=200, ef=128), capacity=len(data))
            else:
                index = QdrantIndex(data.shape[1], Path(d), "bench")
            index.add(np.arange(len(data)), data)
            build = time.perf_counter() - t0
            t0 = time.perf_counter()
            found = np.stack([index.search(q[None], 10)[0][0] for q in queries])
            qps = len(queries) / (time.perf_counter() - t0)
            print(f"| {name} | {build:.0f} | {recall(found, truth):.4f} | {qps:.0f} |", flush=True)
    print(f"| exact numpy | – | 1.0000 | {1 / exact_s:.0f} |")


def fp16_storage(data: np.ndarray, queries: np.ndarray) -> None:
    """Catalog bytes per vector and search quality when vectors are stored as fp16 (xmr index --storage fp16)."""
    from xmr_gui.core.store.catalog import Catalog
    from xmr_gui.core.store.vindex import HnswParams, VectorIndex

    truth, _ = exact(data, queries)
    print(f"\n## fp16 storage: {len(data)} × {data.shape[1]} (truth = exact search on the fp32 vectors)")
    tenth = np.sort(queries @ data.T, axis=1)[:, -10]  # fp32 score of each query's 10th neighbour

    def tied(found: np.ndarray) -> float:
        """recall@10 counting a hit whose fp32 score is within 1e-3 of the true 10th (a near-tie) as correct."""
        got = np.einsum("qd,qkd->qk", queries, data[found])
        return float(np.mean(got >= tenth[:, None] - 1e-3))

    print(
        "| storage | catalog bytes/vector (SQLite file) | exact search recall@10 (ties ≤ 1e-3 counted) "
        "| HNSW (M=16, efC=200, ef=128) recall@10 (ties counted) |"
    )
    print("|---|---|---|---|")
    for storage in ("fp32", "fp16"):
        with tempfile.TemporaryDirectory() as d:
            cat = Catalog(Path(d) / "catalog.sqlite")
            cat.set_vector_storage(storage)
            with cat.transaction():
                for i, v in enumerate(data):
                    cat.put_indexed(f"/photos/IMG_{i:07d}.jpg", 3_000_000, 1_700_000_000_000_000_000, v)
            cat._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            _, stored = cat.indexed_vectors(data.shape[1])
            cat.close()
            empty = Catalog(Path(d) / "empty.sqlite")
            with empty.transaction():
                for i in range(len(data)):
                    empty.put_skipped(f"/photos/IMG_{i:07d}.jpg", 3_000_000, 1_700_000_000_000_000_000, "")
            empty._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            empty.close()
            per = ((Path(d) / "catalog.sqlite").stat().st_size - (Path(d) / "empty.sqlite").stat().st_size) / len(data)
        found_exact, _ = exact(np.ascontiguousarray(stored), queries)
        index = VectorIndex(data.shape[1], HnswParams(M=16, ef_construction=200, ef=128), capacity=len(data))
        index.add(np.arange(len(data)), stored)
        found = np.stack([index.search(q[None], 10)[0][0] for q in queries])
        print(
            f"| {storage} | {per:.0f} | {recall(found_exact, truth):.4f} ({tied(found_exact):.4f}) "
            f"| {recall(found, truth):.4f} ({tied(found):.4f}) |",
            flush=True,
        )


def real_vectors(n: int) -> np.ndarray:
    from xmr_gui.core.base.paths import shipped_demo_checkpoint
    from xmr_gui.core.demo.world import caption, sample_scene
    from xmr_gui.core.learn.checkpoint import Checkpoint
    from xmr_gui.core.runtime.factory import load_encoder

    ckpt = Checkpoint.load(shipped_demo_checkpoint())
    encoder, space = load_encoder(ckpt.backbone_spec(), "cpu"), ckpt.space()
    rng = random.Random(0)
    texts = []
    for _ in range(n):
        scene, labels = sample_scene(rng)
        texts.append(caption(scene, labels, rng) + f" #{rng.randint(0, 10**6)}")
    out = np.concatenate([space.texts(encoder.encode_texts(texts[i : i + 512])) for i in range(0, n, 512)])
    return out.astype(np.float32)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--random", type=int, default=1_000_000)
    p.add_argument("--real", type=int, default=100_000)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument(
        "--random-grid",
        default="16:200:64,128,256,512",
        help="M:ef_construction:ef,ef,... for the random set; several separated by spaces",
    )
    p.add_argument("--fp16-only", action="store_true", help="real vectors: only the fp16 storage section")
    args = p.parse_args()
    os.environ.setdefault("XMR_HOME", tempfile.mkdtemp(prefix="xmr-bench-"))
    rng = np.random.default_rng(0)
    if args.real:
        real = real_vectors(args.real + args.queries)
        data, queries = real[: args.real], real[args.real :]
        if not args.fp16_only:
            sweep(
                "real-model vectors (demo checkpoint space)",
                data,
                queries,
                [(8, 100, [32, 64]), (16, 200, [32, 64, 128]), (32, 200, [64, 128])],
            )
        if not args.fp16_only:
            qdrant_vs_hnsw(data, queries)
        fp16_storage(data, queries)
    if args.random:
        data = unit(rng.standard_normal((args.random, 512), dtype=np.float32))
        queries = unit(rng.standard_normal((args.queries, 512), dtype=np.float32))
        grid = [
            (int(m), int(c), [int(e) for e in efs.split(",")])
            for m, c, efs in (part.split(":") for part in args.random_grid.split())
        ]
        sweep("random unit vectors", data, queries, grid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
