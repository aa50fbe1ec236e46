"""int8 image towers that check themselves on this machine before they serve a single vector.

Dynamic int8 quantisation is up to 2.3x faster than fp32 on CPUs with VNNI (1.02x on one without), but how
close its vectors stay to fp32 depends on the CPU too: ONNX Runtime's U8S8 kernels on AVX2 without VNNI add
pairs of u8*s8 products in int16 and saturate (measured on an AMD EPYC without VNNI: min cosine 0.983 for
ViT-B-32, where a VNNI CPU gives 0.9996). So each
recipe below is quantised and compared with the fp32 tower on a fixed calibration batch, in order, and the first
that agrees (min cosine >= MIN_COSINE and the same top-10 image neighbours except at near-ties) is kept. If none
does, or int8 is not faster here (MIN_SPEEDUP), `--precision auto` runs fp32 and says why. The record of what was
tried is stored beside the export and is valid only on a CPU with the same features.
"""

from __future__ import annotations

import functools
import os
import platform
import random
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..base.progress import Step

MIN_COSINE = 0.999
TOP_K = 10
# Two fp32 scores closer than this are a tie for the purpose of "the same top-10": int8 may order them either way.
NEAR_TIE = 2e-3
# `--precision auto` runs int8 only if it is also this much faster than fp32 on the check batch: without VNNI
# ViT-B-32's int8 tower ran at 1.02x fp32 on an AMD EPYC (bench/RESULTS.md), all of int8's error for nothing.
MIN_SPEEDUP = 1.15
CHECK_BATCH = 16  # dynamic quantisation scales activations per batch: check at the indexer's default batch size
# Read only by the test suite: makes every recipe fail its check so the fp32 fallback path can be exercised.
FORCE_FAIL_ENV = "XMR_TEST_FAIL_INT8_CHECK"


@dataclass(frozen=True)
class Recipe:
    name: str
    summary: str
    per_channel: bool = False
    reduce_range: bool = False
    weight_type: str = "int8"  # int8 (U8S8 kernels) or uint8 (U8U8)
    static_qdq: bool = False  # S8S8 activations and weights, QDQ format, calibrated on the check batch


RECIPES = (
    Recipe("u8s8", "dynamic, int8 weights per tensor (fastest with AVX512-VNNI / AVX-VNNI)"),
    Recipe(
        "u8s8-rr",
        "dynamic, int8 weights per tensor in 7 bits (reduce_range: no int16 saturation on AVX2 without VNNI)",
        reduce_range=True,
    ),
    Recipe("u8u8", "dynamic, uint8 weights per tensor (U8U8 kernels)", weight_type="uint8"),
    # Per-channel weights are a little closer to fp32 but quantise 5-6x slower (67-80 s for ViT-B-32 on 2 busy
    # cores vs 11-15 s): tried only when the per-tensor recipes fail.
    Recipe("u8s8-pc-rr", "dynamic, int8 weights per channel in 7 bits", per_channel=True, reduce_range=True),
    Recipe(
        "s8s8-qdq", "static S8S8 QDQ, per channel, calibrated on the check batch", per_channel=True, static_qdq=True
    ),
)


def recipe_order(features: dict[str, Any] | None = None) -> tuple[Recipe, ...]:
    """The recipes to try, most likely to pass at full speed on this CPU first.

    Without VNNI the U8S8 kernels saturate (u8s8 failed with min cosine 0.98 for ViT-B-32 on an AMD EPYC with AVX2
    only, where u8s8-rr gave 0.9995), so there the 7-bit recipe goes first and a quantisation bound to fail is not
    paid for with every new model.
    """
    flags = set((features or cpu_features())["flags"])
    if {"avx512_vnni", "avx_vnni", "asimddp"} & flags:
        return RECIPES
    return (RECIPES[1], RECIPES[2], RECIPES[0], *RECIPES[3:])


@functools.cache
def cpu_features() -> dict[str, Any]:
    """The CPU's name and the instruction sets that decide int8 speed and accuracy."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and name in ("", platform.processor() or platform.machine()):
                    name = value.strip()
                elif key.strip() in ("flags", "Features"):
                    flags = set(value.split())
                    break
    except OSError:
        pass
    wanted = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm")
    return {"model": name, "machine": platform.machine(), "flags": [f for f in wanted if f in flags]}


def cpu_signature(features: dict[str, Any] | None = None) -> str:
    features = features or cpu_features()
    return f"{features['machine']}:{','.join(features['flags'])}"


def cpu_line(features: dict[str, Any] | None = None) -> str:
    """'AMD EPYC (x86_64; avx2, fma; no AVX512-VNNI)': the CPU as bench/RESULTS.md and `xmr doctor` name it."""
    features = features or cpu_features()
    flags = features["flags"]
    vnni = "VNNI" if {"avx512_vnni", "avx_vnni"} & set(flags) else "no VNNI"
    return f"{features['model']} ({features['machine']}; {', '.join(flags) or 'no SIMD flags read'}; {vnni})"


# -- the calibration batch ----------------------------------------------------------------------------------------
def calibration_images(size: int) -> tuple[np.ndarray, str]:
    """A fixed batch: drawn demo scenes, scikit-image's photographs when installed, and camera-like textures."""
    from ..demo.world import draw_scene, sample_scene
    from .images import square_pixels

    images = []
    for i in range(40):
        rng = random.Random(7_000_003 + i)
        scene, labels = sample_scene(rng)
        images.append(square_pixels(draw_scene(scene, labels, rng), size))
    photos = [square_pixels(im, size) for im in _sample_photos()]
    images += photos
    rng_np = np.random.default_rng(11)
    for i in range(24 - len(photos) // 2):
        # smooth colour gradients + sensor-like noise: the statistics of ordinary photos, not of flat drawings
        y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
        base = rng_np.uniform(0, 255, (3, 3))
        img = base[0] * x[..., None] + base[1] * y[..., None] + base[2] * (1 - x * y)[..., None]
        img = img / max(1.0, img.max() / 255) + rng_np.normal(0, 6 + i, img.shape)
        images.append(np.clip(img, 0, 255).astype(np.uint8))
    what = f"40 demo scenes + {len(photos)} sample photos + {len(images) - 40 - len(photos)} textures"
    return np.stack(images), what


def _sample_photos() -> Iterable[Any]:
    import importlib.util

    from PIL import Image

    from ..demo.world import SAMPLE_PHOTOS

    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return []
    source = Path(list(spec.submodule_search_locations)[0]) / "data"
    out = []
    for name in SAMPLE_PHOTOS:
        if (source / name).is_file():
            with Image.open(source / name) as im:
                out.append(im.convert("RGB"))
    return out


# -- the check ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Agreement:
    min_cosine: float
    mean_cosine: float
    top10_moved: int  # queries whose top-10 image neighbours changed beyond near-ties
    near_tie_swaps: int
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.min_cosine >= MIN_COSINE and self.top10_moved == 0

    def line(self) -> str:
        return (
            f"min cosine {self.min_cosine:.4f}, mean {self.mean_cosine:.5f}, top-10 neighbours "
            + ("kept" if self.top10_moved == 0 else f"changed for {self.top10_moved} images")
            + (f" ({self.near_tie_swaps} near-tie swaps)" if self.near_tie_swaps else "")
        )


def agreement(ref: np.ndarray, test: np.ndarray, k: int = TOP_K, near_tie: float = NEAR_TIE) -> Agreement:
    """How far `test` vectors are from `ref` (rows paired), and whether each image keeps its top-k neighbours.

    A neighbour may leave the top k only for one whose fp32 score is within `near_tie` of it (both at the edge).
    """
    cos = np.sum(ref * test, axis=1)
    s_ref, s_test = ref @ ref.T, test @ test.T
    np.fill_diagonal(s_ref, -np.inf)
    np.fill_diagonal(s_test, -np.inf)
    k = min(k, len(ref) - 1)
    moved = swaps = 0
    for i in range(len(ref)):
        a = set(np.argsort(-s_ref[i], kind="stable")[:k].tolist())
        b = set(np.argsort(-s_test[i], kind="stable")[:k].tolist())
        if a == b:
            continue
        kth = np.sort(s_ref[i])[::-1][k - 1]
        if all(abs(s_ref[i, j] - kth) <= near_tie for j in a ^ b):
            swaps += 1
        else:
            moved += 1
    return Agreement(float(cos.min()), float(cos.mean()), moved, swaps)


def encode(session: Any, pixels: np.ndarray, batch: int = CHECK_BATCH) -> np.ndarray:
    return encode_timed(session, pixels, batch)[0]


def encode_timed(session: Any, pixels: np.ndarray, batch: int = CHECK_BATCH) -> tuple[np.ndarray, float]:
    """Vectors, and the seconds the batches after the first took (the first pays for warm-up)."""
    out, seconds = [], 0.0
    for i in range(0, len(pixels), batch):
        t0 = time.perf_counter()
        out.append(session.run(None, {"pixels": pixels[i : i + batch]})[0])
        seconds += (time.perf_counter() - t0) if i else 0.0
    return np.concatenate(out).astype(np.float32), seconds


# -- quantising ----------------------------------------------------------------------------------------------------
def preprocess(src: Path, dst: Path) -> None:
    """Shape inference + constant folding of a self-contained fp32 tower, once for all recipes: without it the
    exported transposes hide the weights and almost nothing gets quantised (measured: no speed-up)."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    quant_pre_process(str(src), str(dst), skip_symbolic_shape=True)


def quantize(recipe: Recipe, pre: Path, dst: Path, calibration: np.ndarray) -> None:
    """Write `dst`: the pre-processed fp32 image tower `pre` quantised by `recipe` (MatMul/Gemm weights)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    try:
        weight_type = QuantType.QUInt8 if recipe.weight_type == "uint8" else QuantType.QInt8
        ops = ["MatMul", "Gemm"]
        if recipe.static_qdq:
            from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

            class Reader(CalibrationDataReader):  # type: ignore[misc]  # onnxruntime is untyped
                def __init__(self) -> None:
                    self._batches = iter([{"pixels": calibration[i : i + 8]} for i in range(0, len(calibration), 8)])

                def get_next(self) -> dict[str, np.ndarray] | None:
                    return next(self._batches, None)

            quantize_static(
                str(pre),
                str(dst),
                Reader(),
                quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QInt8,
                weight_type=QuantType.QInt8,
                per_channel=recipe.per_channel,
                op_types_to_quantize=ops,
            )
        else:
            quantize_dynamic(
                str(pre),
                str(dst),
                weight_type=weight_type,
                per_channel=recipe.per_channel,
                reduce_range=recipe.reduce_range,
                op_types_to_quantize=ops,
            )
    finally:
        for leftover in dst.parent.glob("*.onnx_augmented*"):  # quantize_static's calibration copies
            leftover.unlink(missing_ok=True)


def choose_recipe(
    fp32_tower: Path,
    out: Path,
    image_size: int,
    on_step: Step,
    session_options: Any,
    cancel: threading.Event | None = None,
) -> tuple[dict[str, Any], Path | None]:
    """Quantise and check each recipe in turn; keeps the first that passes (or, if none, the closest) at `out`.

    Returns the record to store and the kept file (None only if every recipe failed to quantise at all).
    """
    import onnx
    import onnxruntime as ort

    started = time.perf_counter()
    # The quantiser's pre-processing cannot follow external data: give it one self-contained copy (< 2 GB).
    inline = out.with_name("visual.fp32-inline.onnx")
    pre = out.with_name("visual.fp32-pre.onnx")
    on_step("preparing the image tower for quantisation")
    onnx.save(onnx.load(str(fp32_tower)), str(inline))
    preprocess(inline, pre)
    inline.unlink()
    pixels, what = calibration_images(image_size)
    on_step(f"checking int8 against fp32 on {len(pixels)} fixed images")  # which ones: in the record
    fp32 = ort.InferenceSession(str(fp32_tower), session_options, providers=["CPUExecutionProvider"])
    ref, ref_seconds = encode_timed(fp32, pixels)
    del fp32
    force_fail = os.environ.get(FORCE_FAIL_ENV) == "1"
    tried: list[dict[str, Any]] = []
    best: tuple[float, Path, str] | None = None  # (min cosine, file, recipe): the one that passed, else the closest
    passed = False
    order = recipe_order()
    for n, recipe in enumerate(order, 1):
        if cancel is not None and cancel.is_set():
            break
        on_step(f"int8 recipe {n}/{len(order)}: {recipe.name} — {recipe.summary}")
        candidate = out.with_name(f"{out.stem}.{recipe.name}.onnx")
        t0 = time.perf_counter()
        try:
            quantize(recipe, pre, candidate, pixels)
            session = ort.InferenceSession(str(candidate), session_options, providers=["CPUExecutionProvider"])
            vectors, int8_seconds = encode_timed(session, pixels)
            result = agreement(ref, vectors)
            del session
        except Exception as exc:  # noqa: BLE001 - a recipe ONNX Runtime cannot build here is one that failed
            tried.append({"recipe": recipe.name, "error": f"{type(exc).__name__}: {exc}"[:300]})
            candidate.unlink(missing_ok=True)
            continue
        seconds = round(time.perf_counter() - t0, 2)
        worst = min(result.min_cosine, 0.5) if force_fail else result.min_cosine
        result = Agreement(worst, result.mean_cosine, result.top10_moved, result.near_tie_swaps, seconds)
        speedup = round(ref_seconds / max(int8_seconds, 1e-9), 2)
        tried.append({"recipe": recipe.name, **asdict(result), "passed": result.passed, "speedup": speedup})
        on_step(f"int8 recipe {recipe.name}: {result.line()} — {'passed' if result.passed else 'failed'}")
        if result.passed or best is None or result.min_cosine > best[0]:
            if best is not None:
                best[1].unlink(missing_ok=True)
            best = (result.min_cosine, candidate, recipe.name)
        else:
            candidate.unlink(missing_ok=True)
        if result.passed:
            passed = True
            break
    pre.unlink()
    if best is not None:
        os.replace(best[1], out)
    record = {
        "passed": passed,
        "recipe": best[2] if best else None,
        "tried": tried,
        "calibration": what,
        "criteria": f"min cosine >= {MIN_COSINE}, same top-{TOP_K} neighbours except near-ties (< {NEAR_TIE})",
        "cpu": cpu_features(),
        "cpu_signature": cpu_signature(),
        "onnxruntime": ort.__version__,
        "seconds": round(time.perf_counter() - started, 1),
    }
    return record, (out if best is not None else None)


def summary(record: dict[str, Any]) -> str:
    """One line: what was chosen and why."""
    tried = [t for t in record.get("tried", []) if "min_cosine" in t]
    best = next((t for t in tried if t["recipe"] == record.get("recipe")), None)
    measured = (
        f"min cosine {best['min_cosine']:.4f}, top-10 " + ("kept" if best["top10_moved"] == 0 else "changed")
        if best
        else "no recipe could be built"
    )
    if record.get("passed"):
        return f"int8 recipe {record['recipe']} agrees with fp32 on this CPU ({measured})"
    names = ", ".join(t["recipe"] for t in record.get("tried", []))
    return f"no int8 recipe agrees with fp32 on this CPU (tried {names}; best: {measured})"
