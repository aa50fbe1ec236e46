"""End-to-end indexing speed vs the same model's bare forward pass and vs JPEG decoding, measured in one process.

    python bench/index_throughput.py [--n 500] [--model ViT-B-32] [--weights random] [--batch-size 16] [--workers 2]
    python bench/index_throughput.py --model imagenet-minilm --weights lite0      # the offline real model
    python bench/index_throughput.py --model imagenet-minilm --weights lite0 --n 200 --sweep 16:2:2,16:1:2,32:2:2

Bare forward = encoder.encode_images on batches of already-decoded photos (the model's ceiling). Decode = xmr's own
`load_pixels` (draft + crop-resize) over every photo in a pool of --workers threads, no model (the decoding
ceiling). End-to-end = `index_folder` on a fresh database: scan, decode in threads, encode, catalog commit, HNSW
insert, save. Both ceilings are measured before and after the indexing run and averaged (the machine drifts).

On a machine where decoding and the model share the same cores, the two cannot both run at full speed: with c_d and
c_f the CPU seconds per photo of decoding and of the forward, the best a perfect pipeline can do on all cores is
1 / (1/decode + 1/forward) (`overlap bound` below), and end-to-end / decode = c_d / (c_d + c_f) at best.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from photos import make_photos  # noqa: E402

DEFAULT_PHOTOS = Path(__file__).resolve().parent / "out" / "photos"


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(
    model: str = "ViT-B-32",
    weights: str = "random",
    precision: str = "fp32",
    n: int = 500,
    batch_size: int | None = None,
    workers: int | None = None,
    photos: Path = DEFAULT_PHOTOS,
    seconds: float = 15.0,
    ort_threads: int | None = None,
    log: Any = print,
) -> dict[str, Any]:
    """The three rates (img/s) and their ratios; batch size and workers default to the CLI's defaults."""
    from xmr_gui.core.base.defaults import BATCH_SIZE
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.runtime.factory import load_encoder
    from xmr_gui.core.runtime.images import load_pixels
    from xmr_gui.core.runtime.spec import ModelSpec
    from xmr_gui.core.store.library import Library

    batch_size = batch_size or BATCH_SIZE
    workers = workers or max(1, min(4, os.cpu_count() or 1))  # `xmr index --workers` default
    folder = make_photos(Path(photos), n)
    files = sorted(folder.glob("IMG_*.jpg"))[:n]
    if len(files) < n:
        raise SystemExit(f"{folder} holds {len(files)} of the {n} photos asked for")
    if len(list(folder.iterdir())) != n:  # the indexer takes the whole folder: keep exactly n photos in one
        sub = Path(tempfile.mkdtemp(prefix="xmr-bench-photos-"))
        for f in files:
            os.symlink(f, sub / f.name)
        folder = sub
    spec = ModelSpec.parse(model, weights).with_precision(precision)
    if ort_threads:
        from xmr_gui.core.runtime.clip_onnx import OnnxClipEncoder

        encoder: Any = OnnxClipEncoder(spec, threads=ort_threads)
    else:
        encoder = load_encoder(spec, "auto")
    size = encoder.image_size
    log(
        f"device {encoder.device}, model {spec.describe()} ({type(encoder).__name__}), {n} photos, "
        f"batch {batch_size}, workers {workers}, cores {os.cpu_count()}, input {size}px"
    )

    cpu_per_photo: dict[str, list[float]] = {"decode": [], "forward": []}  # CPU seconds: what load cannot inflate

    def decode() -> tuple[float, list[np.ndarray]]:
        t0, c0 = time.perf_counter(), _cpu_seconds()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            out = list(pool.map(lambda f: load_pixels(f, size), files))
        cpu_per_photo["decode"].append((_cpu_seconds() - c0) / n)
        return n / (time.perf_counter() - t0), out

    decode()  # page cache warm for every measurement alike
    decode_before, pixels = decode()
    batch = np.stack(pixels[:batch_size])
    encoder.encode_images(batch)  # warm-up (session load)

    def bare_forward() -> float:
        t0, c0, done = time.perf_counter(), _cpu_seconds(), 0
        while time.perf_counter() - t0 < seconds:
            encoder.encode_images(batch)
            done += batch_size
        cpu_per_photo["forward"].append((_cpu_seconds() - c0) / done)
        return done / (time.perf_counter() - t0)

    bare_before = bare_forward()
    db = Path(tempfile.mkdtemp(prefix="xmr-bench-db-"))
    cpu0 = _cpu_seconds()
    with Library.create(db, folder, spec) as lib:
        lib.use_encoder(encoder)
        report = index_folder(lib, folder, batch_size=batch_size, workers=workers)
    cpu = _cpu_seconds() - cpu0
    shutil.rmtree(db)
    if report.encoded != n:
        raise SystemExit(f"indexed {report.encoded} of {n} photos")
    e2e = report.encoded / report.seconds
    bare_after = bare_forward()
    decode_after, _ = decode()
    bare, dec = (bare_before + bare_after) / 2, (decode_before + decode_after) / 2
    bound = 1 / (1 / bare + 1 / dec)
    c_dec, c_fwd = float(np.median(cpu_per_photo["decode"][1:])), float(np.median(cpu_per_photo["forward"]))
    r = {
        "model": spec.describe(),
        "n": n,
        "batch_size": batch_size,
        "workers": workers,
        "bare": bare,
        "bare_before_after": (bare_before, bare_after),
        "decode": dec,
        "decode_before_after": (decode_before, decode_after),
        "e2e": e2e,
        "e2e_seconds": report.seconds,
        "e2e_cpu_use": cpu / report.seconds,  # cores busy on average during the indexing run
        "bound": bound,
        "e2e_over_bare": e2e / bare,
        "e2e_over_decode": e2e / dec,
        "e2e_over_bound": e2e / bound,
        "cpu_ms_decode": 1000 * c_dec,  # CPU ms per photo (ORT's spinning threads included in the forward's)
        "cpu_ms_forward": 1000 * c_fwd,
        "cpu_ms_e2e": 1000 * cpu / report.encoded,
        "decode_share": c_dec / (c_dec + c_fwd),  # the most end-to-end / decode can be when both share the cores
        "load": os.getloadavg()[0],
    }
    log(f"bare forward before / after: {bare_before:.2f} / {bare_after:.2f} img/s -> {bare:.2f}")
    log(f"decode ({workers} threads) before / after: {decode_before:.2f} / {decode_after:.2f} img/s -> {dec:.2f}")
    log(
        f"end-to-end index: {e2e:.2f} img/s ({report.encoded} in {report.seconds:.1f} s, "
        f"{r['e2e_cpu_use']:.2f} cores busy)"
    )
    log(f"overlap bound 1/(1/bare + 1/decode): {bound:.2f} img/s")
    log(
        f"CPU ms per photo: decode {1000 * c_dec:.1f}, forward {1000 * c_fwd:.1f}, end to end "
        f"{r['cpu_ms_e2e']:.1f}; decode's share {r['decode_share']:.3f} = the ceiling of end-to-end / decode; "
        f"load average {r['load']:.2f}"
    )
    log(
        f"ratios: end-to-end / bare forward {r['e2e_over_bare']:.3f}, / decode {r['e2e_over_decode']:.3f} "
        f"(aim >= 0.90), / overlap bound {r['e2e_over_bound']:.3f}"
    )
    return r


def sweep(
    configs: list[tuple[int, int, int]], model: str, weights: str, n: int, rounds: int, photos: Path = DEFAULT_PHOTOS
) -> None:
    """End-to-end only, for (batch size, decode workers, ORT threads) configs run interleaved `rounds` times, so
    that a shared machine's changing load hits every config alike; median img/s and cores busy per config."""
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.runtime.clip_onnx import OnnxClipEncoder
    from xmr_gui.core.runtime.spec import ModelSpec
    from xmr_gui.core.store.library import Library

    folder = make_photos(Path(photos), n)
    sub = Path(tempfile.mkdtemp(prefix="xmr-bench-photos-"))
    for f in sorted(folder.glob("IMG_*.jpg"))[:n]:
        os.symlink(f, sub / f.name)
    spec = ModelSpec.parse(model, weights).with_precision("fp32")
    encoders = {t: OnnxClipEncoder(spec, threads=t) for t in sorted({c[2] for c in configs})}
    runs: dict[tuple[int, int, int], list[tuple[float, float]]] = {c: [] for c in configs}
    for _ in range(rounds):
        for c in configs:
            batch_size, workers, threads = c
            db = Path(tempfile.mkdtemp(prefix="xmr-bench-db-"))
            cpu0 = _cpu_seconds()
            with Library.create(db, sub, spec) as lib:
                lib.use_encoder(encoders[threads])
                report = index_folder(lib, sub, batch_size=batch_size, workers=workers)
            runs[c].append((report.encoded / report.seconds, (_cpu_seconds() - cpu0) / report.seconds))
            shutil.rmtree(db)
    print(f"{spec.describe()}, {n} photos, {rounds} interleaved rounds, load average {os.getloadavg()[0]:.2f}")
    print("| batch | decode workers | ORT threads | end to end (median) | each round | cores busy (median) |")
    print("|---|---|---|---|---|---|")
    for (b, w, t), r in runs.items():
        rates = [x for x, _ in r]
        print(f"| {b} | {w} | {t} | {np.median(rates):.2f} img/s | {', '.join(f'{x:.1f}' for x in rates)} "
              f"| {np.median([y for _, y in r]):.2f} |")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--model", default="ViT-B-32")
    p.add_argument("--weights", default="random", help="'random' (speed does not depend on weights), lite0, ...")
    p.add_argument("--batch-size", type=int, default=None, help="default: xmr index's default")
    p.add_argument("--workers", type=int, default=None, help="default: xmr index's default (cores, at most 4)")
    p.add_argument("--precision", choices=("fp32", "int8"), default="fp32")
    p.add_argument("--ort-threads", type=int, default=None, help="ONNX Runtime intra-op threads (default: cores)")
    p.add_argument("--seconds", type=float, default=15.0, help="length of each bare-forward measurement")
    p.add_argument("--photos", default=str(DEFAULT_PHOTOS))
    p.add_argument("--sweep", help="end to end only, interleaved: BATCH:WORKERS:THREADS,... e.g. 16:2:2,16:1:2")
    p.add_argument("--rounds", type=int, default=3, help="--sweep rounds")
    args = p.parse_args(argv)
    from xmr_gui.core.base import paths

    os.environ.setdefault("XMR_CACHE_DIR", str(paths.cache_dir()))  # the user's ONNX exports, made once
    os.environ.setdefault("XMR_HOME", tempfile.mkdtemp(prefix="xmr-bench-"))
    if args.sweep:
        configs = [tuple(int(x) for x in c.split(":")) for c in args.sweep.split(",")]
        sweep(configs, args.model, args.weights, args.n, args.rounds, Path(args.photos))  # type: ignore[arg-type]
        return 0
    measure(
        args.model,
        args.weights,
        args.precision,
        args.n,
        args.batch_size,
        args.workers,
        Path(args.photos),
        args.seconds,
        args.ort_threads,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
