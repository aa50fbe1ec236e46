"""Text-query latency: a whole `search_text` call ÷ the bare text-encoder call it contains, in one process.

    python bench/query_latency.py [--model ViT-B-32-256] [--n 300] [--queries 40] [--checkpoint FILE]

Bare = `encoder.encode_texts([q])` (tokenise + ONNX Runtime text tower), warm session. Total =
`search_text(lib, q, k=20)`: query cleaning, the LRU lookup (a miss: every query is new), the encoder, the
space's projection (numpy heads with --checkpoint), HNSW search and the catalog lookup of the 20 paths.
Calls are interleaved (bare on q_i, then search on a different q_i') so drift hits both. Repeated queries
(LRU hits) are timed separately.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from photos import make_photos  # noqa: E402

SUBJECTS = [
    "a dog",
    "a red car",
    "a city",
    "two people",
    "a boat",
    "a mountain",
    "a cat",
    "a bicycle",
    "a beach",
    "a forest",
    "a bird",
    "a bridge",
    "a house",
    "a tree",
    "a horse",
    "flowers",
]
PLACES = [
    "at night",
    "in the snow",
    "on a beach",
    "near a lake",
    "in the rain",
    "at sunset",
    "indoors",
    "on a road",
    "in a park",
    "under a bridge",
]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="ViT-B-32-256")
    p.add_argument("--n", type=int, default=300, help="photos in the library")
    p.add_argument("--queries", type=int, default=40)
    p.add_argument("--checkpoint", help="search through this checkpoint's space (its backbone must be --model)")
    p.add_argument("--photos", default=str(Path(__file__).resolve().parent / "out" / "photos"))
    args = p.parse_args(argv)
    os.environ.setdefault("XMR_HOME", tempfile.mkdtemp(prefix="xmr-bench-"))

    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.runtime.spec import ModelSpec
    from xmr_gui.core.search.photos import search_text
    from xmr_gui.core.store.library import Library

    folder = make_photos(Path(args.photos), args.n)
    spec = ModelSpec.parse(args.model, "random").with_precision("int8")
    texts = [f"{s} {p}" for p in PLACES for s in SUBJECTS]
    assert len(texts) >= 2 * args.queries + 1, "not enough distinct queries"
    with Library.create(Path(tempfile.mkdtemp(prefix="xmr-q-")), folder, spec) as lib:
        index_folder(lib, folder)
        if args.checkpoint:
            lib.attach_checkpoint(args.checkpoint, remember=False)
        enc = lib.encoder
        enc.encode_texts(["warm-up"])
        search_text(lib, "warm-up query", k=20)
        bare, total = [], []
        for i in range(args.queries):
            t0 = time.perf_counter()
            enc.encode_texts([texts[2 * i]])
            t1 = time.perf_counter()
            search_text(lib, texts[2 * i + 1], k=20)
            t2 = time.perf_counter()
            bare.append(t1 - t0)
            total.append(t2 - t1)
        cached = []
        for _ in range(args.queries):
            t0 = time.perf_counter()
            search_text(lib, texts[1], k=20)  # asked before: served by the LRU
            cached.append(time.perf_counter() - t0)
    b, t, c = statistics.median(bare), statistics.median(total), statistics.median(cached)
    print(
        f"{time.strftime('%Y-%m-%d')}  {spec.describe()}, {args.n} photos, {args.queries} distinct queries, "
        f"{'checkpoint ' + Path(args.checkpoint).name if args.checkpoint else 'raw backbone space'}, "
        f"device {enc.device}, {os.cpu_count()} cores"
    )
    print("| bare text encoder | search_text, new query | total / bare | search_text, repeated query (LRU) |")
    print("|---|---|---|---|")
    print(
        f"| {b * 1000:.1f} ms | {t * 1000:.1f} ms | {t / b:.3f} "
        f"| {c * 1000:.3f} ms ({b / c:.0f}× faster than the encoder) |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
