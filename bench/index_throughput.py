"""End-to-end indexing speed vs the same model's bare forward pass, measured in one process.

    python bench/index_throughput.py [--n 500] [--model ViT-B-32] [--batch-size 32] [--workers 2]

Bare forward = encoder.encode_images on batches already in memory (the ceiling). End-to-end = `index_folder`
on a fresh database: scan, decode (draft + resize in threads), encode, catalog commit, HNSW insert, save.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from photos import make_photos  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--model", default="ViT-B-32")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--precision", choices=("fp32", "int8"), default="fp32")
    p.add_argument("--photos", default=str(Path(__file__).resolve().parent / "out" / "photos"))
    args = p.parse_args(argv)
    os.environ.setdefault("XMR_HOME", tempfile.mkdtemp(prefix="xmr-bench-"))

    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.runtime.factory import load_encoder
    from xmr_gui.core.runtime.spec import ModelSpec
    from xmr_gui.core.store.library import Library

    folder = make_photos(Path(args.photos), args.n)
    spec = ModelSpec.parse(args.model, "random").with_precision(args.precision)
    encoder = load_encoder(spec, "auto")
    print(
        f"device {encoder.device}, model {spec.describe()}, {args.n} photos, batch {args.batch_size}, "
        f"workers {args.workers}, cores {os.cpu_count()}"
    )

    rng = np.random.default_rng(0)
    batch = rng.integers(0, 255, (args.batch_size, encoder.image_size, encoder.image_size, 3), dtype=np.uint8)
    encoder.encode_images(batch)  # warm-up

    def bare_forward(seconds: float = 15.0) -> float:
        t0, n = time.perf_counter(), 0
        while time.perf_counter() - t0 < seconds:
            encoder.encode_images(batch)
            n += args.batch_size
        return n / (time.perf_counter() - t0)

    # The machine drifts: the baseline is measured before and after the indexing run and averaged.
    before = bare_forward()
    db = Path(tempfile.mkdtemp(prefix="xmr-bench-db-"))
    with Library.create(db, folder, spec) as lib:
        lib.use_encoder(encoder)
        report = index_folder(lib, folder, batch_size=args.batch_size, workers=args.workers)
    end_to_end = report.encoded / report.seconds
    after = bare_forward()
    bare = (before + after) / 2
    print(f"bare forward before / after the indexing run: {before:.2f} / {after:.2f} img/s ({type(encoder).__name__})")
    shutil.rmtree(db)
    print(f"bare forward: {bare:.2f} img/s")
    print(f"end-to-end index: {end_to_end:.2f} img/s ({report.encoded} encoded in {report.seconds:.1f} s)")
    print(f"ratio end-to-end / bare forward: {end_to_end / bare:.3f}  (goal >= 0.90)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
