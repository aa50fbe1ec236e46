"""Which encoder runs a spec, and where: the device, the precision and the runtime (ONNX Runtime or torch).

The spec and the interface (spec.py) know nothing of the implementations; this module picks one and imports it
only when it is asked for, so choosing never loads torch or ONNX Runtime.
"""

from __future__ import annotations

import os
import sys

from . import offline
from .spec import Encoder, ModelError, ModelSpec, Runtime


def cuda_possible() -> bool:
    """Whether CUDA can exist here, without importing torch: no NVIDIA driver means no CUDA (so a CPU machine never
    pays for torch). The window offers the cuda device only when it can."""
    return os.path.exists("/proc/driver/nvidia/version") or os.name == "nt" or "torch" in sys.modules


def resolve_device(device: str) -> str:
    """'auto' → 'cuda' when a CUDA device is present, else 'cpu'."""
    if device not in {"auto", "cpu", "cuda"}:
        raise ModelError(f"unknown device {device!r}: use auto, cpu or cuda")
    if device == "cpu" or (device == "auto" and not cuda_possible()):
        return "cpu"
    try:
        import torch
    except ImportError:  # a torch-free install (the packaged app): ONNX Runtime on CPU
        if device == "cuda":
            raise ModelError("--device cuda needs torch with CUDA, which this install does not have") from None
        return "cpu"

    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise ModelError("--device cuda asked for, but no CUDA device is available")
    return "cpu"


def choose_precision(precision: str, device: str = "auto") -> str:
    """'auto' → int8 where the image tower runs on CPU with ONNX Runtime, else fp32.

    Measured (bench/RESULTS.md): int8 indexes ViT-B-32 2.3× faster end to end, its vectors agree with fp32 to
    cosine ≥ 0.9996 and the demo checkpoint's mAP is unchanged, so it is the CPU default.
    """
    if precision != "auto":
        return precision
    cpu = resolve_device(device) == "cpu"
    return "int8" if cpu and Runtime.chosen() != Runtime.TORCH else "fp32"


def load_encoder(
    spec: ModelSpec,
    device: str = "auto",
    allow_download: bool = False,
    runtime: Runtime | str | None = None,
    threads: int | None = None,
) -> Encoder:
    """The encoder for `spec`; pretrained weights from the hub cache only (`prepare.prepare_model` downloads).

    runtime: 'onnx' (ONNX Runtime on CPU; torch only in a one-off export subprocess), 'torch', or 'auto'
    (default, or $XMR_RUNTIME): ONNX on CPU, torch on CUDA. threads: ONNX Runtime's threads (default: every core;
    a Ray actor given one CPU asks for 1). allow_download: ignored (kept for older callers).
    """
    del allow_download
    runtime = Runtime.chosen(runtime)
    resolved = resolve_device(device)
    if spec.precision == "int8":  # a CPU format: such a library is served by ONNX Runtime on any machine
        if runtime == "torch":
            raise ModelError("precision int8 runs with ONNX Runtime only (unset XMR_RUNTIME=torch)")
        resolved, runtime = "cpu", Runtime.ONNX
    if offline.is_offline(spec.model):  # its towers exist only as ONNX (small enough for any CPU)
        from .clip_onnx import OnnxClipEncoder

        return OnnxClipEncoder(spec, threads=threads)
    if runtime == "onnx" or (runtime == "auto" and resolved == "cpu"):
        try:
            from .clip_onnx import OnnxClipEncoder

            return OnnxClipEncoder(spec, threads=threads)
        except ImportError as exc:
            if runtime == "onnx":
                raise ModelError(f"ONNX Runtime cannot be used here: {exc}") from None
        except ModelError:
            if runtime == "onnx" or getattr(sys, "frozen", False):  # a packaged app has no torch to fall back on
                raise
            import logging

            logging.getLogger(__name__).warning("ONNX export failed; running %s with torch", spec.model)
    from .clip_torch import TorchClipEncoder

    return TorchClipEncoder(spec, device=resolved)
