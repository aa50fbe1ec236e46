"""int8 recipes on this CPU: agreement with fp32 and speed, each recipe side by side with fp32 in one process.

    python bench/int8_recipes.py [--model ViT-B-32-256] [--weights random] [--photos DIR] [--n 64]

Prints the CPU (name, AVX2 / AVX512 / VNNI), the time `prepare_model` took (export + quantise + check, from an
empty cache), then per recipe: min / mean cosine vs fp32 and top-10 neighbour changes on the calibration batch and
(with --photos) on real JPEGs, and bare forward img/s at batch 16 as a ratio to fp32.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="ViT-B-32-256")
    ap.add_argument("--weights", default="random")
    ap.add_argument("--photos", help="a folder of JPEGs to check agreement on as well (e.g. 500 camera JPEGs)")
    ap.add_argument("--n", type=int, default=64, help="photos used from --photos")
    args = ap.parse_args()
    os.environ.setdefault("XMR_HOME", tempfile.mkdtemp(prefix="xmr-int8-bench-"))

    import onnxruntime as ort

    from xmr_gui.core.runtime.clip_onnx import export_dir, session_options
    from xmr_gui.core.runtime.images import load_pixels
    from xmr_gui.core.runtime.int8 import RECIPES, agreement, calibration_images, cpu_line, encode, preprocess, quantize
    from xmr_gui.core.runtime.prepare import prepare_model
    from xmr_gui.core.runtime.spec import ModelSpec

    print(f"CPU: {cpu_line()}; onnxruntime {ort.__version__}")
    spec = ModelSpec.parse(args.model, args.weights)
    t0 = time.perf_counter()
    steps: list[tuple[float, str]] = []
    prepared = prepare_model(spec, "auto", "cpu", on_step=lambda s: steps.append((time.perf_counter() - t0, s)))
    total = time.perf_counter() - t0
    for t, s in steps:
        print(f"  [{t:5.1f} s] {s}")
    print(f"prepare_model from an empty cache: {total:.1f} s -> {prepared.spec.precision}: {prepared.reason}")

    folder = export_dir(spec.identity())
    size = int(__import__("json").loads((folder / "meta.json").read_text())["image_size"])
    calib, what = calibration_images(size)
    sets = {"calibration": calib}
    if args.photos:
        files = sorted(p for p in Path(args.photos).iterdir() if p.suffix.lower() in {".jpg", ".jpeg"})[: args.n]
        sets["photos"] = np.stack([load_pixels(p, size) for p in files])
    opts = session_options()
    fp32 = ort.InferenceSession(str(folder / "visual.onnx"), opts, providers=["CPUExecutionProvider"])

    def speed(session) -> float:
        batch = calib[:16]
        session.run(None, {"pixels": batch})
        t = time.perf_counter()
        for _ in range(3):
            session.run(None, {"pixels": batch})
        return 48 / (time.perf_counter() - t)

    refs = {name: encode(fp32, x) for name, x in sets.items()}
    base = speed(fp32)
    print(f"fp32 bare forward: {base:.1f} img/s (batch 16)")
    print("| recipe | set | min cos | mean cos | top-10 changed | img/s | × fp32 |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        import onnx

        inline = Path(tmp) / "visual.fp32.onnx"
        onnx.save(onnx.load(str(folder / "visual.onnx")), str(inline))
        pre = Path(tmp) / "visual.pre.onnx"
        preprocess(inline, pre)
        for recipe in RECIPES:
            out = Path(tmp) / f"{recipe.name}.onnx"
            try:
                quantize(recipe, pre, out, calib)
                session = ort.InferenceSession(str(out), opts, providers=["CPUExecutionProvider"])
            except Exception as exc:  # noqa: BLE001
                print(f"| {recipe.name} | - | failed: {type(exc).__name__} | | | | |")
                continue
            rate = speed(session)
            for name, x in sets.items():
                a = agreement(refs[name], encode(session, x))
                print(
                    f"| {recipe.name} | {name} ({len(x)}) | {a.min_cosine:.4f} | {a.mean_cosine:.5f} | "
                    f"{a.top10_moved} | {rate:.1f} | {rate / base:.2f} |"
                )
            out.unlink()
    print(f"calibration batch: {what}")


if __name__ == "__main__":
    main()
