"""`xmr index --ray` against the single-process indexer on the same folder, the same model, in one process.

    python bench/ray_index.py [--n 300] [--rounds 2] [--batch-size 16]

Each round indexes the folder into a fresh library twice: once with `index_folder` (decode threads + ONNX Runtime
on every core) and once with `index_folder_on_ray` on a local Ray cluster (one actor per CPU, ONNX Runtime on one
thread each, the driver writing). The cluster is started once, before the first Ray run, and its start-up is timed
on its own. Photos are generated camera JPEGs (bench/photos.py); the model is the offline real model
(imagenet-minilm lite0, fp32), prepared once. Printed per path: photos/s over the whole run (`report.seconds`: scan,
actor start-up, encode, commit, save) and in the steady state (between the first and the last progress report, so
without the actors' start-up), then the ratios Ray / single-process.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from photos import make_photos  # noqa: E402


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} CPUs"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"


def _run(index: Any, folder: Path, db: Path, **kwargs: Any) -> dict[str, float]:
    """One indexing run into a fresh library: whole-run and steady-state photos/s."""
    from xmr_gui.core.models import ModelWish
    from xmr_gui.core.opening import OpenRequest, open_folder
    from xmr_gui.core.runtime.spec import Precision

    marks: list[tuple[float, int]] = []
    request = OpenRequest(
        folder, wish=ModelWish.from_words("imagenet-minilm", "lite0", None), db=db, precision=Precision.FP32
    )
    with open_folder(request) as opened:
        report = index(opened.library, folder, on_progress=lambda p: marks.append((p.elapsed, p.done)), **kwargs)
    (t0, d0), (t1, d1) = marks[0], marks[-1]
    return {
        "photos": report.encoded,
        "seconds": report.seconds,
        "whole": report.encoded / report.seconds,
        "steady": (d1 - d0) / (t1 - t0) if t1 > t0 else float("nan"),
        "first": t0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300, help="photos (default 300)")
    ap.add_argument("--rounds", type=int, default=2, help="single + Ray runs, alternated (default 2)")
    ap.add_argument("--batch-size", type=int, default=16)
    args = ap.parse_args(argv)

    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.indexing.ray_job import index_folder_on_ray, ray_cluster

    work = Path(tempfile.mkdtemp(prefix="xmr-ray-bench-"))
    try:
        folder = make_photos(work / "photos", args.n)
        print(f"CPU: {_cpu()}; {args.n} photos; imagenet-minilm lite0 fp32; batch {args.batch_size}")
        _run(index_folder, folder, work / "warm", batch_size=args.batch_size)  # model prepared + page cache warm
        started = time.perf_counter()
        rows: dict[str, list[dict[str, float]]] = {"single": [], "ray": []}
        with ray_cluster(on_step=print):
            start_s = time.perf_counter() - started
            print(f"local Ray cluster started in {start_s:.1f} s")
            for r in range(args.rounds):
                rows["single"].append(
                    _run(index_folder, folder, work / f"single{r}", batch_size=args.batch_size, workers=2)
                )
                rows["ray"].append(_run(index_folder_on_ray, folder, work / f"ray{r}", batch_size=args.batch_size))
                for path in ("single", "ray"):
                    m = rows[path][-1]
                    print(
                        f"round {r + 1} {path:6s}: {m['photos']:.0f} photos in {m['seconds']:5.1f} s = "
                        f"{m['whole']:5.1f} photos/s whole run, {m['steady']:5.1f} steady "
                        f"(first batch after {m['first']:.1f} s)"
                    )
        mean = {p: {k: sum(m[k] for m in ms) / len(ms) for k in ("whole", "steady")} for p, ms in rows.items()}
        print(
            f"mean photos/s: single {mean['single']['whole']:.1f} whole / {mean['single']['steady']:.1f} steady; "
            f"ray {mean['ray']['whole']:.1f} whole / {mean['ray']['steady']:.1f} steady"
        )
        print(
            f"ratio ray / single: whole run {mean['ray']['whole'] / mean['single']['whole']:.2f}, "
            f"steady state {mean['ray']['steady'] / mean['single']['steady']:.2f}; plus {start_s:.1f} s to start "
            "the local cluster once"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
