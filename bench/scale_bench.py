"""Vector search at 100k, 300k and 1M photos: xmr's hnswlib index and LanceDB against exact numpy search.

    nice python bench/scale_bench.py                              # every size, both engines
    nice python bench/scale_bench.py --sizes 100k --engines hnsw  # one size, one engine
    nice python bench/scale_bench.py --structure                  # only the "is it i.i.d.-like?" check

Vectors (bench/scale_vectors.py): "100k" = the offline model's text tower (MiniLM, 384-d) on 100,000 generated
captions, queries = 2,000 further captions; "100k-mix", "300k", "1m" = a Gaussian mixture fitted to those 100,000
real vectors, queries = further samples of it. "100k-mix" beside "100k" shows how well the mixture stands in.

Per engine and setting: build time, memory (hnswlib: the process's resident-memory growth over the build, and the
saved file; LanceDB: the table's and index's bytes on disk, and the resident memory of a fresh process that opens
the table and answers every query), latency p50/p95 of one query at a time, recall@10 against exact search, and the
speed-up = exact search's p50 at batch 1 ÷ the engine's p50 at batch 1. Exact search is numpy's matrix product
over all vectors in this process on one thread, timed at batch 1 (one query, as a user types it) and batched
(blocks of 64 queries). hnswlib runs through xmr's own `VectorIndex` (its M / ef_construction / ef); LanceDB
through the `lancedb` API.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Exact search on one thread, like one hnswlib query: on a shared, loaded machine a 2-thread BLAS call waits for its
# descheduled twin, which would flatter every speed-up (set OPENBLAS_NUM_THREADS to override).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale_vectors as sv  # noqa: E402

K = 10
SIZES = {"100k": 100_000, "100k-mix": 100_000, "300k": 300_000, "1m": 1_000_000}
FIT = 100_000  # real vectors the mixture is fitted to


def rss() -> int:
    """Resident bytes of this process now (Linux /proc; ru_maxrss is a peak and never comes down)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float((found[:, :, None] == truth[:, None, :]).any(axis=2).mean())


def cpu() -> float:
    """CPU seconds this process has used, all threads: unlike wall time, barely moved by other load on the machine."""
    t = os.times()
    return t.user + t.system


def pct(times: list[float]) -> tuple[float, float]:
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def vectors(size: str, queries: int) -> tuple[np.ndarray, np.ndarray]:
    real = sv.real_vectors(FIT + queries)
    if size == "100k":
        return real[:FIT], real[FIT:]
    mixed = sv.mixture_vectors(SIZES["1m"] + queries, real[:FIT])  # one sample: smaller sets are its first rows
    return mixed[: SIZES[size]], mixed[SIZES["1m"] :]


# -- exact search -----------------------------------------------------------------------------------------------
def exact(data: np.ndarray, queries: np.ndarray, batch1: int = 200) -> tuple[np.ndarray, float, list[float]]:
    """(true top-10 ids, seconds per query batched, seconds of each of `batch1` one-at-a-time queries)."""
    truth = np.empty((len(queries), K), np.int64)
    t0 = time.perf_counter()
    for i in range(0, len(queries), 64):
        s = queries[i : i + 64] @ data.T
        part = np.argpartition(-s, K, axis=1)[:, :K]
        order = np.argsort(-np.take_along_axis(s, part, axis=1), axis=1)
        truth[i : i + 64] = np.take_along_axis(part, order, axis=1)
    batched = (time.perf_counter() - t0) / len(queries)
    single = []
    for q in queries[:batch1]:
        t0 = time.perf_counter()
        s = data @ q
        part = np.argpartition(-s, K)[:K]
        part[np.argsort(-s[part])]
        single.append(time.perf_counter() - t0)
    return truth, batched, single


# -- hnswlib through xmr's VectorIndex ---------------------------------------------------------------------------
def hnsw(data, queries, truth, M: int, efc: int, efs: list[int]) -> tuple[dict, list[dict]]:  # type: ignore[no-untyped-def]
    from xmr_gui.core.store.vindex import HnswParams, VectorIndex

    before, c0 = rss(), cpu()
    t0 = time.perf_counter()
    index = VectorIndex(data.shape[1], HnswParams(M=M, ef_construction=efc, ef=efs[0]), capacity=len(data))
    index.add(np.arange(len(data)), data)
    build = {"build_s": time.perf_counter() - t0, "build_cpu": cpu() - c0, "ram": rss() - before}
    with tempfile.TemporaryDirectory(dir=sv.CACHE) as d:
        index.save(d, "idx")
        build["disk"] = folder_bytes(Path(d))
    rows = []
    for ef in efs:
        index.params = HnswParams(M=M, ef_construction=efc, ef=ef)
        found, times = np.empty((len(queries), K), np.int64), []
        for i, q in enumerate(queries):
            t0 = time.perf_counter()
            found[i] = index.search(q[None], K)[0][0]
            times.append(time.perf_counter() - t0)
        rows.append({"setting": f"ef={ef}", "recall": recall(found, truth), "lat": pct(times)})
    return build, rows


# -- LanceDB ----------------------------------------------------------------------------------------------------
LANCE_INDEXES = {
    # name → (config class, its arguments, query settings swept: (nprobes, refine_factor, ef))
    "IVF_FLAT": ("IvfFlat", {}, [(p, None, None) for p in (8, 16, 32, 64)]),
    "IVF_PQ": ("IvfPq", {"num_sub_vectors": 96}, [(p, r, None) for p in (16, 32) for r in (10, 50)]),
    "IVF_HNSW_SQ": (
        "HnswSq",
        {},
        [(1, None, e) for e in (16, 32, 64, 128, 256)] + [(1, 5, e) for e in (64, 128, 256)],  # ef ≥ k × refine
    ),
}


def lance_build(data: np.ndarray, folder: Path, kind: str, partitions: int | None) -> dict:
    """Write the table, build one index on it; build time and bytes on disk."""
    import lancedb
    import pyarrow as pa
    from lancedb import index as lindex

    db = lancedb.connect(folder)
    flat = pa.array(data.reshape(-1), pa.float32())
    table = pa.table(
        {"id": pa.array(np.arange(len(data))), "vector": pa.FixedSizeListArray.from_arrays(flat, data.shape[1])}
    )
    t0 = time.perf_counter()
    tbl = db.create_table("photos", table, mode="overwrite")
    write = time.perf_counter() - t0
    table_bytes = folder_bytes(folder)
    cls, kwargs, _ = LANCE_INDEXES[kind]
    if partitions is not None:
        kwargs = {**kwargs, "num_partitions": partitions}
    t0, c0 = time.perf_counter(), cpu()
    tbl.create_index("vector", config=getattr(lindex, cls)(distance_type="cosine", **kwargs))
    build, build_cpu = time.perf_counter() - t0, cpu() - c0
    stats = tbl.index_stats("vector_idx")
    return {
        "write_s": write,
        "build_s": build,
        "build_cpu": build_cpu,
        "disk": folder_bytes(folder) - table_bytes,
        "table_disk": table_bytes,
        "partitions": getattr(stats, "num_indices", None) and getattr(stats, "index_type", ""),
    }


def lance_serve(folder: str, queries_file: str, kind: str, truth_file: str) -> None:
    """In a fresh process: open the table, answer every query at each setting; JSON on stdout (memory, rows)."""
    import lancedb

    queries, truth = np.load(queries_file), np.load(truth_file)
    before = rss()
    tbl = lancedb.connect(folder).open_table("photos")
    rows = []
    for nprobes, refine, ef in LANCE_INDEXES[kind][2]:
        found, times = np.full((len(queries), K), -1, np.int64), []
        for i, q in enumerate(queries):
            t0 = time.perf_counter()
            query = tbl.search(q, vector_column_name="vector").distance_type("cosine").limit(K).nprobes(nprobes)
            if refine:
                query = query.refine_factor(refine)
            if ef:
                query = query.ef(ef)
            ids = query.select(["id"]).to_arrow()["id"].to_numpy()
            times.append(time.perf_counter() - t0)
            found[i, : len(ids)] = ids
        setting = f"nprobes={nprobes}" + (f" refine={refine}" if refine else "") + (f" ef={ef}" if ef else "")
        rows.append({"setting": setting, "recall": recall(found, truth), "lat": pct(times[20:])})
    print(json.dumps({"ram": rss() - before, "rows": rows}))


def lance(data, queries, truth, kind: str, partitions: int | None, n_queries: int) -> tuple[dict, list[dict]]:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory(dir=sv.CACHE) as d:
        folder = Path(d)
        build = lance_build(data, folder / "db", kind, partitions)
        np.save(folder / "q.npy", queries[:n_queries])
        np.save(folder / "t.npy", truth[:n_queries])
        cmd = [sys.executable, __file__, "--lance-serve", str(folder / "db"), str(folder / "q.npy"), kind]
        out = subprocess.run([*cmd, str(folder / "t.npy")], capture_output=True, text=True, check=True).stdout
    served = json.loads(out.strip().splitlines()[-1])
    build["ram"] = served["ram"]
    return build, served["rows"]


# -- report -----------------------------------------------------------------------------------------------------
def report(size: str, engine: str, build: dict, rows: list[dict], exact_p50: float, exact_batched: float) -> None:
    for r in rows:
        p50, p95 = r["lat"]
        mark = " **≥0.99**" if r["recall"] >= 0.99 else ""
        print(
            f"| {size} | {engine} | {r['setting']} | {build['build_s']:.0f} ({build['build_cpu']:.0f}) "
            f"| {build['ram'] / 2**20:.0f} | {build['disk'] / 2**20:.0f} | {r['recall']:.4f}{mark} "
            f"| {p50 * 1000:.2f} / {p95 * 1000:.2f} "
            f"| {exact_p50 / p50:.0f}× | {exact_batched / p50:.1f}× |",
            flush=True,
        )


def run_size(size: str, args: argparse.Namespace) -> None:
    data, queries = vectors(size, args.queries)
    truth, batched, single = exact(data, queries)
    e50, e95 = pct(single)
    print(
        f"\n### {size}: {len(data):,} × {data.shape[1]}, {len(queries):,} queries — exact numpy search: "
        f"{e50 * 1000:.1f} / {e95 * 1000:.1f} ms p50 / p95 at batch 1, {batched * 1000:.2f} ms per query batched "
        f"(64); vectors {data.nbytes / 2**20:.0f} MiB\n"
    )
    print("| vectors | engine | query setting | build s (CPU s) | RAM MiB | disk MiB | recall@10 "
          "| ms p50 / p95 (batch 1) | speed-up vs exact batch 1 | vs exact batched |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    if "hnsw" in args.engines:
        for spec in args.hnsw.split():
            M, efc = (int(x) for x in spec.split(":"))
            build, rows = hnsw(data, queries, truth, M, efc, [16, 32, 64, 96, 128, 256])
            report(size, f"hnswlib M={M} efC={efc}", build, rows, e50, batched)
    if "lance" in args.engines:
        for kind in args.lance.split(","):
            partitions = 1 if kind == "IVF_HNSW_SQ" else None
            build, rows = lance(data, queries, truth, kind, partitions, args.lance_queries)
            name = f"LanceDB {kind}" + (" 1 partition" if partitions == 1 else " default partitions")
            print(f"<!-- {name}: table written in {build['write_s']:.1f} s, {build['table_disk'] / 2**20:.0f} MiB -->")
            report(size, name, build, rows, e50, batched)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="100k,100k-mix,300k,1m", help=f"comma-separated, of {', '.join(SIZES)}")
    p.add_argument("--engines", default="hnsw,lance")
    p.add_argument("--queries", type=int, default=2000)
    p.add_argument("--lance-queries", type=int, default=500, help="LanceDB answers the first this many queries")
    p.add_argument("--hnsw", default="16:200", help="M:ef_construction, several separated by spaces")
    p.add_argument("--lance", default="IVF_HNSW_SQ,IVF_PQ,IVF_FLAT")
    p.add_argument("--structure", action="store_true", help="only the nearest-neighbour structure table")
    p.add_argument("--lance-serve", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.lance_serve:
        lance_serve(*args.lance_serve)
        return 0
    sv.CACHE.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("XMR_HOME", tempfile.mkdtemp(prefix="xmr-scale-", dir=sv.CACHE))
    if args.structure:
        real = sv.real_vectors(FIT + args.queries)
        big = sv.mixture_vectors(SIZES["1m"] + args.queries, real[:FIT])
        mixed = np.concatenate([big[:FIT], big[SIZES["1m"] :]])
        rand = sv.random_vectors(FIT + args.queries, real.shape[1])
        print("| vectors | n | 1st NN cosine | 10th NN cosine | any member (mean ± sd) | 1st NN gap | 10th NN gap |")
        print("|---|---|---|---|---|---|---|")
        for name, x in (("real (captions → MiniLM)", real), ("mixture fitted to them", mixed), ("i.i.d. random", rand)):
            print(sv.structure(name, x[:FIT], x[FIT:]), flush=True)
        print(sv.structure("mixture, 1M", big[: SIZES["1m"]], big[SIZES["1m"] :]), flush=True)
        return 0
    for size in args.sizes.split(","):
        run_size(size, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
