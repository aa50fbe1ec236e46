"""The encoder interface and how a model is named; no torch here, so a search path can stay light.

An encoder maps uint8 pixels (N, S, S, 3) and strings to L2-normalised float32 vectors in one space.
`ModelSpec` says which model: an open_clip architecture (a registered name or a JSON config file) and its
weights (an open_clip pretrained tag, a local weights file, or ``random`` = seeded initialisation).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .files import file_sha256

if TYPE_CHECKING:  # numpy only for annotations: this module is on the window's start-up path
    import numpy as np

PACKAGED_CONFIGS = Path(__file__).resolve().parent.parent / "model_configs"
RANDOM_WEIGHTS = "random"
RANDOM_SEED = 0
PRECISIONS = ("fp32", "int8")


class ModelError(Exception):
    """A model that cannot be loaded; the message says what to do."""


class Encoder(Protocol):
    identity: str
    dim: int
    image_size: int
    device: str

    def encode_images(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 (N, S, S, 3) → float32 (N, dim), rows of unit length."""

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """N strings → float32 (N, dim), rows of unit length."""


@dataclass(frozen=True)
class ModelSpec:
    """Which model to run. `config_json` is filled in for JSON-file models so a database is self-contained."""

    model: str
    weights: str = RANDOM_WEIGHTS
    config_json: str | None = None
    precision: str = "fp32"  # "int8": the image tower dynamically quantised (ONNX Runtime, CPU)

    def with_precision(self, precision: str) -> ModelSpec:
        if precision not in PRECISIONS:
            raise ModelError(f"unknown precision {precision!r}: use {' or '.join(PRECISIONS)}")
        return ModelSpec(self.model, self.weights, self.config_json, precision)

    @classmethod
    def parse(cls, model: str, weights: str) -> ModelSpec:
        """From CLI words: `model` is an open_clip name, a packaged config name or a path to a JSON config."""
        path = Path(model).expanduser()
        if model.endswith(".json"):
            if not path.is_file():
                raise ModelError(f"model config {model!r} does not exist")
            text = path.read_text(encoding="utf-8")
            _check_config(text, model)
            return cls(model=path.stem, weights=weights, config_json=text)
        packaged = PACKAGED_CONFIGS / f"{model}.json"
        if packaged.is_file():
            return cls(model=model, weights=weights, config_json=packaged.read_text(encoding="utf-8"))
        return cls(model=model, weights=weights)

    @property
    def weights_kind(self) -> str:
        """'random', 'file' or 'tag'."""
        if self.weights == RANDOM_WEIGHTS:
            return "random"
        if os.sep in self.weights or Path(self.weights).suffix in {".safetensors", ".pt", ".bin", ".pth", ".xmr"}:
            return "file"
        return "tag"

    def identity(self) -> str:
        """Stable id of (architecture, weights, precision): a changed id means every stored vector is stale."""
        base = self._weights_identity()
        return base if self.precision == "fp32" else f"{base}+{self.precision}"

    def _weights_identity(self) -> str:
        if self.weights.endswith(".xmr"):  # backbone embedded in a checkpoint: its own hash, not the file's
            from .checkpoint import read_card

            return self.with_embedded_weights(str(read_card(self.weights)["backbone"]["weights_sha256"]))
        h = self._architecture_hash()
        kind = self.weights_kind
        if kind == "random":
            h.update(f"random-seed{RANDOM_SEED}".encode())
        elif kind == "file":
            h.update(file_sha256(self.weights).encode())
        else:
            h.update(f"tag:{self.weights}".encode())
        return f"{self.model}/{Path(self.weights).name if kind == 'file' else self.weights}/{h.hexdigest()[:16]}"

    def with_embedded_weights(self, weights_sha256: str) -> str:
        """The identity this architecture will have once its weights (hash given) sit inside a checkpoint."""
        h = self._architecture_hash()
        h.update(weights_sha256.encode())
        return f"{self.model}/embedded/{h.hexdigest()[:16]}"

    def _architecture_hash(self) -> hashlib._Hash:
        h = hashlib.sha256()
        h.update(self.model.encode())
        if self.config_json:
            h.update(json.dumps(json.loads(self.config_json), sort_keys=True).encode())
        return h

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ModelSpec:
        return cls(**json.loads(text))  # older databases lack "precision": the default applies

    def describe(self) -> str:
        kind = self.weights_kind
        if kind == "random":
            return (
                f"{self.model} with RANDOM weights (seed {RANDOM_SEED}; for tests and benchmarks, not for real search)"
            )
        return f"{self.model} ({self.weights})"


def _check_config(text: str, where: str) -> None:
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"model config {where} is not valid JSON: {exc}") from None
    missing = {"embed_dim", "vision_cfg", "text_cfg"} - set(cfg)
    if missing:
        raise ModelError(f"model config {where} lacks {', '.join(sorted(missing))} (an open_clip model config)")


def _cuda_possible() -> bool:  # used by the window to offer CUDA only when it can exist
    """Without importing torch: no NVIDIA driver means no CUDA (so a CPU machine never pays for torch)."""
    return os.path.exists("/proc/driver/nvidia/version") or os.name == "nt" or "torch" in sys.modules


def resolve_device(device: str) -> str:
    """'auto' → 'cuda' when a CUDA device is present, else 'cpu'."""
    if device not in {"auto", "cpu", "cuda"}:
        raise ModelError(f"unknown device {device!r}: use auto, cpu or cuda")
    if device == "cpu" or (device == "auto" and not _cuda_possible()):
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
    return "int8" if cpu and os.environ.get("XMR_RUNTIME", "auto") != "torch" else "fp32"


def load_encoder(
    spec: ModelSpec, device: str = "auto", allow_download: bool = False, runtime: str | None = None
) -> Encoder:
    """The encoder for `spec`.

    runtime: 'onnx' (ONNX Runtime on CPU; torch only in a one-off export subprocess), 'torch', or 'auto'
    (default, or $XMR_RUNTIME): ONNX on CPU, torch on CUDA, torch when the weights may need downloading.
    """
    runtime = runtime or os.environ.get("XMR_RUNTIME", "auto")
    if runtime not in {"auto", "onnx", "torch"}:
        raise ModelError(f"unknown runtime {runtime!r}: use auto, onnx or torch")
    resolved = resolve_device(device)
    if spec.precision == "int8":  # a CPU format: such a library is served by ONNX Runtime on any machine
        if runtime == "torch":
            raise ModelError("precision int8 runs with ONNX Runtime only (unset XMR_RUNTIME=torch)")
        resolved, runtime = "cpu", "onnx"
    if runtime == "onnx" or (runtime == "auto" and resolved == "cpu" and not allow_download):
        try:
            from .clip_onnx import OnnxClipEncoder

            return OnnxClipEncoder(spec)
        except ImportError as exc:
            if runtime == "onnx":
                raise ModelError(f"ONNX Runtime cannot be used here: {exc}") from None
        except ModelError:
            if runtime == "onnx" or getattr(sys, "frozen", False):  # a packaged app has no torch to fall back on
                raise
            import logging

            logging.getLogger(__name__).warning("ONNX export failed; running %s with torch", spec.model)
    from .clip_torch import TorchClipEncoder

    return TorchClipEncoder(spec, device=resolved, allow_download=allow_download)
