"""The offline model on real photos through the product path (issue #17, "Evidence on real photos").

    python bench/real_photos.py            # everything (~10 min on 2 cores once the ONNX export exists)
    python bench/real_photos.py --quick    # fp32 + the demo checkpoint only, throughput on 100 photos

Unlike bench/offline_model.py (the research, computed in torch), every figure here goes the way a user's photos go:
files → `xmr index` (in-process `xmr_gui.cli.main`, with xmr's own image loading `load_pixels` in the indexer's
decode threads) → the ONNX towers → the catalog and HNSW index → `search_text`. The data loading, queries and metrics
are bench/offline_model.py's (imported, not copied), so the figures compare with its table.

* tuxpaint (Debian `tuxpaint-stamps-default`, GPL: fetched by `apt-get download` when absent, never committed):
  430 real photo cut-outs, category-folder queries (P@5, mAP) and their descriptions as queries (R@1, R@5, mAP), for
  imagenet-minilm fp32, int8 when `prepare_model(precision="auto")` chooses it here, and the shipped demo checkpoint
  models/xmr-demo.xmr (the "before"); the research variants are quoted from bench/offline_model_results.md.
  Two diagnostic rows split the gap to the research winner: the same ONNX towers fed the research's own resize
  (`offline_model.preprocess`) instead of `load_pixels`, and `load_pixels` with exact scores instead of HNSW.
* scikit-image's sample photographs: rank of each query's photo among the 22 (offline_model.SKIMAGE_POOL).
* index throughput of the offline model on generated camera JPEGs (bench/index_throughput.py's `measure`):
  end to end ÷ bare forward and ÷ JPEG decode rate, in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import offline_model as om  # noqa: E402
from index_throughput import measure  # noqa: E402

MODEL = ["--model", "imagenet-minilm", "--weights", "lite0"]
DEMO_CHECKPOINT = ROOT / "models" / "xmr-demo.xmr"
RESEARCH_TABLE = HERE / "offline_model_results.md"
RESEARCH_WINNER = {"cat_p5": 0.426, "cat_map": 0.469, "desc_map": 0.329}


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        name = re.search(r"Model name:\s*(.+)", out)
        flags = re.search(r"Flags:\s*(.+)", out)
        have = set(flags.group(1).split()) if flags else set()
        extra = ", ".join(f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni") if f in have)
        return f"{name.group(1).strip() if name else platform.processor()} ({os.cpu_count()} cores; {extra})"
    except (OSError, subprocess.CalledProcessError):
        return f"{platform.processor()} ({os.cpu_count()} cores)"


def cli(*argv: str) -> str:
    """`xmr ARGV` in this process; its stdout. Fails loudly."""
    from xmr_gui.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    if code != 0:
        raise SystemExit(f"xmr {' '.join(argv)} failed ({code})")
    return out.getvalue()


# --------------------------------------------------------------------------------------------- the photo sets


def link_collection(col: om.Collection, root: Path, dest: Path) -> list[Path]:
    """The collection's photos (only those: no cartoon/, symbols/, mirrors) as symlinks under `dest`, same tree."""
    out = []
    for p in col.paths:
        link = dest / p.relative_to(root)
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            os.symlink(p, link)
        out.append(link)
    return out


def copy_skimage(dest: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for p in om.skimage_paths():
        shutil.copyfile(p, dest / p.name)
        out.append(dest / p.name)
    return out


# --------------------------------------------------------------------------------------------- scoring


def search_scores(db: Path, queries: list[str], paths: list[Path]) -> np.ndarray:
    """(Q, N) scores through the product's text search (HNSW, k = every photo); -inf where a photo is not returned."""
    from xmr_gui.core.search.photos import search_text
    from xmr_gui.core.store.library import Library

    where = {str(p): i for i, p in enumerate(paths)}
    out = np.full((len(queries), len(paths)), -np.inf, np.float32)
    with Library.open(db) as lib:
        for q, text in enumerate(queries):
            for hit in search_text(lib, text, k=len(paths)):
                out[q, where[hit.path]] = hit.score
    return out


def exact_scores(encoder: Any, queries: list[str], pixels: np.ndarray, batch: int = 16) -> np.ndarray:
    """(Q, N) cosine scores of the towers on given pixels, no index: the diagnostic rows."""
    images = np.concatenate([encoder.encode_images(pixels[i : i + batch]) for i in range(0, len(pixels), batch)])
    texts = np.concatenate([encoder.encode_texts(queries[i : i + 64]) for i in range(0, len(queries), 64)])
    return texts @ images.T


def research_pixels(paths: list[Path], size: int) -> np.ndarray:
    """uint8 pixels as the research resized them (offline_model.preprocess: white background, bicubic short side
    to `size` on the full-resolution image, centre crop) — the scaling to -1..1 undone, exactly."""
    out = []
    for p in paths:
        x = om.preprocess(om.load_rgb(p), size, crop_pct=1.0, norm="half")
        out.append(np.clip(np.rint((x.transpose(1, 2, 0) * 0.5 + 0.5) * 255.0), 0, 255).astype(np.uint8))
    return np.stack(out)


def tux_metrics(fs: np.ndarray, fr: np.ndarray, ds: np.ndarray, dr: np.ndarray) -> dict[str, float]:
    return {
        "cat_p5": float(om.precision_at(fs, fr, 5).mean()),
        "cat_map": float(om.average_precision(fs, fr).mean()),
        "desc_r1": float(om.recall_at(ds, dr, 1).mean()),
        "desc_r5": float(om.recall_at(ds, dr, 5).mean()),
        "desc_map": float(om.average_precision(ds, dr).mean()),
    }


def sk_ranks(scores: np.ndarray, queries: dict[str, str], paths: list[Path]) -> list[int]:
    rel = np.array([[p.name == queries[q] for p in paths] for q in queries])
    return om.best_rank(scores, rel).tolist()


def research_rows() -> list[list[str]]:
    """The research table's rows (bench/offline_model_results.md, "Every variant"), quoted, not recomputed."""
    text = RESEARCH_TABLE.read_text(encoding="utf-8")
    table = text.split("## Every variant", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 9 and cells[0] not in ("variant", "---"):
            name, p5, mp, r1, r5, dm, sk, _union, extra = cells
            ranks = sk.split("(", 1)[1].rstrip(")") if "(" in sk else sk
            rows.append([f"research (torch): {name}", p5, mp, r1, r5, dm, ranks, extra])
    return rows


# --------------------------------------------------------------------------------------------- main


def fmt_row(name: str, m: dict[str, float] | None, ranks: list[int], extra: list[int]) -> list[str]:
    keys = ("cat_p5", "cat_map", "desc_r1", "desc_r5", "desc_map")
    vals = [f"{m[k]:.3f}" for k in keys] if m else ["–"] * 5
    return [name, *vals, " ".join(map(str, ranks)) or "–", " ".join(map(str, extra)) or "–"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fp32 and the demo checkpoint only; throughput on 100 photos")
    p.add_argument("--n", type=int, default=None, help="camera JPEGs for the throughput (default 500, quick 100)")
    p.add_argument("--no-throughput", action="store_true")
    p.add_argument("--work", help="working folder (default: a fresh temporary one, removed at the end)")
    args = p.parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="xmr-real-photos-"))
    work.mkdir(parents=True, exist_ok=True)
    from xmr_gui.core.base import paths

    os.environ.setdefault("XMR_CACHE_DIR", str(paths.cache_dir()))  # the user's ONNX exports, made once
    os.environ.setdefault("XMR_HOME", str(work / "home"))  # libraries and their registry: not the user's
    started = time.perf_counter()
    load0 = os.getloadavg()

    from xmr_gui.core.runtime.factory import load_encoder
    from xmr_gui.core.runtime.images import load_pixels
    from xmr_gui.core.runtime.prepare import prepare_model
    from xmr_gui.core.runtime.spec import ModelSpec

    spec = ModelSpec.parse("imagenet-minilm", "lite0")
    prepared = prepare_model(spec, precision="auto", on_step=lambda s: print(f"  prepare: {s}", file=sys.stderr))
    precisions = ["fp32"] + (["int8"] if prepared.spec.precision == "int8" and not args.quick else [])

    root = om.tuxpaint_root()
    col = om.tuxpaint_collection(root)
    tux = link_collection(col, root, work / "tuxpaint")
    sk = copy_skimage(work / "skimage")
    fq, fr = om.folder_queries(col)
    dq, dr = om.description_queries(col)
    req, extra = list(om.SKIMAGE_REQUIRED), list(om.SKIMAGE_EXTRA)
    print(f"tuxpaint: {len(tux)} photos ({root}), {len(fq)} folder queries, {len(dq)} description queries; "
          f"skimage: {len(sk)} photos", file=sys.stderr)  # fmt: skip

    rows: list[list[str]] = []
    product: dict[str, dict[str, float]] = {}
    runs = [(f"imagenet-minilm lite0 {pr} (xmr index + search)", [*MODEL, "--precision", pr]) for pr in precisions]
    if DEMO_CHECKPOINT.exists():
        runs.append(("before: demo checkpoint models/xmr-demo.xmr (xmr index --checkpoint)",
                     ["--checkpoint", str(DEMO_CHECKPOINT)]))  # fmt: skip
    for name, how in runs:
        t0 = time.perf_counter()
        m: dict[str, float] = {}
        for label, folder, photos in (("tux", work / "tuxpaint", tux), ("sk", work / "skimage", sk)):
            db = work / "db" / f"{label}-{len(rows)}"
            shutil.rmtree(db, ignore_errors=True)
            cli("index", str(folder), "--db", str(db), *how, "-q", "--json")
            if label == "tux":
                m = tux_metrics(search_scores(db, fq, photos), fr, search_scores(db, dq, photos), dr)
            else:
                ranks = sk_ranks(search_scores(db, req, photos), om.SKIMAGE_REQUIRED, photos)
                extra_ranks = sk_ranks(search_scores(db, extra, photos), om.SKIMAGE_EXTRA, photos)
        product[name] = m
        rows.append(fmt_row(name, m, ranks, extra_ranks))
        print(f"  {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    diag: dict[str, dict[str, float]] = {}
    if not args.quick:  # where a gap to the research winner comes from: the resize, or the index
        encoder = load_encoder(spec.with_precision("fp32"), "cpu")
        size = encoder.image_size
        for name, pix in (
            ("diagnostic: fp32 towers on the research's resize, exact scores", research_pixels(col.paths, size)),
            ("diagnostic: fp32 towers on load_pixels, exact scores", np.stack([load_pixels(x, size) for x in tux])),
        ):
            diag[name] = m = tux_metrics(exact_scores(encoder, fq, pix), fr, exact_scores(encoder, dq, pix), dr)
            rows.append(fmt_row(name, m, [], []))
    rows += research_rows()

    print(f"\n{time.strftime('%Y-%m-%d')}, CPU {cpu_name()}, load average at start {load0[0]:.2f}")
    print(f"imagenet-minilm precision auto → {prepared.spec.precision}: {prepared.reason}\n")
    print("| model / variant | folders P@5 | folders mAP | desc R@1 | desc R@5 | desc mAP | skimage ranks (cat coffee "
          "rocket camera) | extra skimage ranks (astronaut motorcycle moon coins clock bricks) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    fp32 = product.get(runs[0][0])
    if fp32:
        gaps = ", ".join(f"{k} {fp32[k]:.3f} vs {v:.3f} ({fp32[k] - v:+.3f})" for k, v in RESEARCH_WINNER.items())
        print(f"\nproduct fp32 vs the research winner: {gaps}")

    if not args.no_throughput:
        n = args.n or (100 if args.quick else 500)
        print(f"\nindex throughput, {n} camera JPEGs (bench/out/photos), imagenet-minilm lite0:")
        tp = []
        for pr in precisions:
            r = measure("imagenet-minilm", "lite0", pr, n, seconds=4.0 if args.quick else 10.0,
                        log=lambda s: print(f"  {s}", file=sys.stderr))  # fmt: skip
            tp.append((pr, r))
        print("| precision | batch | workers | bare forward | JPEG decode (load_pixels) | overlap bound | end to end "
              "| cores busy | e2e ÷ bare | e2e ÷ decode (aim ≥ 0.90) | e2e ÷ bound | CPU ms/photo decode, forward "
              "| decode's CPU share (ceiling of e2e ÷ decode) | load average |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for pr, r in tp:
            print(f"| {pr} | {r['batch_size']} | {r['workers']} | {r['bare']:.1f} img/s | {r['decode']:.1f} img/s "
                  f"| {r['bound']:.1f} img/s | {r['e2e']:.1f} img/s ({r['n']} in {r['e2e_seconds']:.1f} s) "
                  f"| {r['e2e_cpu_use']:.2f} | {r['e2e_over_bare']:.2f} | {r['e2e_over_decode']:.2f} "
                  f"| {r['e2e_over_bound']:.2f} | {r['cpu_ms_decode']:.1f}, {r['cpu_ms_forward']:.1f} "
                  f"| {r['decode_share']:.2f} | {r['load']:.1f} |")  # fmt: skip
    load1 = os.getloadavg()
    print(f"\nload average at the end {load1[0]:.2f}; {time.perf_counter() - started:.0f} s in all")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
