"""Does the label-query vote's candidate cut change answers in libraries larger than the cut? (issue #25)

    PYTHONPATH=. python bench/vote_candidates.py [--sizes 5000 20000] [--candidates 1000] [--work DIR]

A query that is one of a checkpoint's labels scores photos by cosine + w_q × the label's vote share among the
labelled training photos (learn/cache.py `LabelCache.lift`). `xmr search` lifts only the index's `VOTE_CANDIDATES`
(1,000) nearest to the query vector (search/photos.py), so a photo outside them that the vote would have lifted into
the top 10 is missed. Measured here on demo worlds, which carry every photo's labels:

- a checkpoint trained with the default config on a demo world of 2,000 photos (seed 0), as the demo floor in
  bench/RESULTS.md was (`xmr train WORLD --model xmr-small --weights models/xmr-demo.xmr`); its card's vote (w_q, β_q)
  and, as a stress, the grid's strongest vote (w 0.75) with every β;
- libraries of fresh demo worlds (seed 1) of each size, indexed with it (the product's `index_folder`);
- for every label as a one-word query: the served top 10 (`search.photos.search_text`) against the exact top 10
  (the same score over every photo): overlap (share of the exact top 10 served), and P@10 of both against the
  world's labels; the time of each, as a ratio (same process, interleaved). `--candidates N …` re-runs it with
  smaller cuts, to see how far below the product's 1,000 answers start to change.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def trained_checkpoint(work: Path) -> Path:
    from xmr_gui.cli import main
    from xmr_gui.core.base.paths import shipped_demo_checkpoint
    from xmr_gui.core.demo.world import write_demo

    out = work / "default.xmr"
    if not out.exists():
        world = write_demo(work / "world2k", 2000, seed=0)
        demo = shipped_demo_checkpoint()
        if demo is None:
            raise SystemExit("models/xmr-demo.xmr is not in this checkout")
        code = main(["train", str(world), "--model", "xmr-small", "--weights", str(demo), "--out", str(out)])
        if code != 0:
            raise SystemExit(f"xmr train failed ({code})")
    return out


def library(work: Path, size: int, checkpoint: Path):  # type: ignore[no-untyped-def]
    from xmr_gui.core.demo.world import write_demo
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.learn.checkpoint import Checkpoint
    from xmr_gui.core.store.library import Library

    world = write_demo(work / f"w{size}", size, seed=1)
    rows = {str(world / r["file"]): r["labels"] for r in map(json.loads, (world / "labels.jsonl").open())}
    db = work / f"db{size}"
    if db.exists():
        lib = Library.open(db)
    else:
        lib = Library.create(db, world / "images", Checkpoint.load(checkpoint).backbone_spec())
    lib.attach_checkpoint(checkpoint)
    index_folder(lib, world / "images")
    return lib, rows


def measure(lib, rows, cache, repeats: int = 3) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Overlap of served and exact top 10, their P@10, and their times, over every label as a one-word query."""
    from xmr_gui.core.search.photos import search_text, text_vector

    space = lib.space
    ids = sorted(lib.index.ids())
    paths = lib.catalog.paths_for(ids)
    space.query_vote = cache
    overlap, p_served, p_exact, t_served, t_exact = [], [], [], 0.0, 0.0
    try:
        for label in space.labels:
            c = space.labels.index(label)
            for _ in range(repeats):
                t0 = time.perf_counter()
                served = [h.path for h in search_text(lib, label, k=10)]
                t1 = time.perf_counter()
                vectors = space.images(lib.catalog.vectors_for(ids, lib.dim))  # what an exact answer must read
                scores = cache.lift(vectors @ text_vector(lib, label), vectors, c)
                exact = [paths[i] for i in np.argsort(-scores, kind="stable")[:10]]
                t2 = time.perf_counter()
                t_served += t1 - t0
                t_exact += t2 - t1
            overlap.append(len(set(served) & set(exact)) / 10)
            p_served.append(sum(label in rows[p] for p in served) / 10)
            p_exact.append(sum(label in rows[p] for p in exact) / 10)
    finally:
        space.query_vote = None
    n = len(space.labels) * repeats
    return {
        "overlap": float(np.mean(overlap)),
        "worst": float(np.min(overlap)),
        "p_served": float(np.mean(p_served)),
        "p_exact": float(np.mean(p_exact)),
        "ms_served": 1000 * t_served / n,
        "ms_exact": 1000 * t_exact / n,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000])
    ap.add_argument("--candidates", type=int, nargs="+", default=[1000], help="VOTE_CANDIDATES values to measure")
    ap.add_argument("--work", default=os.environ.get("XMR_VOTE_CANDIDATES", "/tmp/xmr_vote_candidates"))
    args = ap.parse_args()
    from xmr_gui.core.learn.cache import BETAS, LabelCache
    from xmr_gui.core.learn.checkpoint import Checkpoint
    from xmr_gui.core.search import photos

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    checkpoint = trained_checkpoint(work)
    ckpt = Checkpoint.load(checkpoint)
    queries = ckpt.card.get("label_queries") or {}
    card_vote = (float(queries.get("vote_weight", 0.0)), float(queries.get("vote_beta", 1.0)))
    print(f"checkpoint {checkpoint}: card vote w {card_vote[0]:g}, β {card_vote[1]:g}")
    votes = ([("card", *card_vote)] if card_vote[0] > 0 else []) + [("stress", 0.75, b) for b in BETAS]
    print()
    head = "| library | candidates | vote (w, β) | overlap@10 with exact (mean / worst label) | P@10 served |"
    print(head + " P@10 exact | time served / exact (ms) | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        lib, rows = library(work, size, checkpoint)
        try:
            if "cache.keys" not in ckpt.tensors:
                raise SystemExit("the checkpoint carries no training photos (its card chose no vote)")
            keys = lib.space.images(ckpt.tensors["cache.keys"].astype(np.float32))
            labels = ckpt.tensors["cache.labels"].astype(np.float32)
            for cut, (name, w, beta) in ((c, v) for c in args.candidates for v in votes):
                photos.VOTE_CANDIDATES = cut
                r = measure(lib, rows, LabelCache(keys, labels, w, beta))
                print(
                    f"| {size:,} photos | {cut:,} | {name} ({w:g}, {beta:g}) | {r['overlap']:.3f} / {r['worst']:.1f} | "
                    f"{r['p_served']:.3f} | {r['p_exact']:.3f} | {r['ms_served']:.1f} / {r['ms_exact']:.1f} | "
                    f"{r['ms_exact'] / r['ms_served']:.1f}× |",
                    flush=True,
                )
        finally:
            lib.close()
    print()
    print(f"CPU {cpu_name()}; {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
