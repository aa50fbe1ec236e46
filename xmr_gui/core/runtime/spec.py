"""The encoder interface and how a model is named (the spec); no torch here, so a search path can stay light.

An encoder maps uint8 pixels (N, S, S, 3) and strings to L2-normalised float32 vectors in one space.
`ModelSpec` says which model: an open_clip architecture (a registered name or a JSON config file) and its
weights (an open_clip pretrained tag, a local weights file, or ``random`` = seeded initialisation).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..base import paths
from ..base.errors import XmrError
from ..base.files import file_sha256
from . import offline
from .card import CheckpointError, read_card

if TYPE_CHECKING:  # numpy only for annotations: this module is on the window's start-up path
    import numpy as np

PACKAGED_CONFIGS = paths.PACKAGE / "model_configs"
RANDOM_WEIGHTS = "random"
RANDOM_SEED = 0
PRECISIONS = ("fp32", "int8")


class Device(StrEnum):
    """Where the image encoder runs (auto: CUDA when present, else CPU)."""

    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"


class Precision(StrEnum):
    """The image tower's precision as asked for (auto: int8 on CPU where it agrees with fp32, else fp32)."""

    AUTO = "auto"
    FP32 = "fp32"
    INT8 = "int8"


class Runtime(StrEnum):
    """What runs a model (auto, or $XMR_RUNTIME: ONNX Runtime on CPU, torch on CUDA)."""

    AUTO = "auto"
    ONNX = "onnx"
    TORCH = "torch"

    @classmethod
    def chosen(cls, runtime: str | None = None) -> Runtime:
        """`runtime` when given, else $XMR_RUNTIME, else auto (the one place that reads the variable); ModelError for
        a value that names no runtime."""
        value = runtime or os.environ.get("XMR_RUNTIME", "auto")
        try:
            return cls(value)
        except ValueError:
            raise ModelError(f"unknown runtime {value!r}: use auto, onnx or torch") from None


# CLIP's pixel normalisation (per RGB channel, on 0-1 values): the default of open_clip models, and of training.
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


class ModelError(XmrError):
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
        if offline.is_offline(model):
            if weights not in offline.VARIANTS:
                raise ModelError(
                    f"{model} has the weights variants {', '.join(offline.VARIANTS)} (default "
                    f"{offline.DEFAULT_VARIANT}), not {weights!r}"
                )
            return cls(model=model, weights=weights)
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
        """'random', 'file', 'tag' (an open_clip pretrained tag, from the hub) or 'builtin' (the offline model's)."""
        if offline.is_offline(self.model):
            return "builtin"
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
            sha = read_card(self.weights)["backbone"].get("weights_sha256")
            if not sha:
                raise CheckpointError(f"{self.weights}: its card names no hash of the backbone it embeds")
            return self.with_embedded_weights(sha)
        h = self._architecture_hash()
        kind = self.weights_kind
        if offline.is_offline(self.model):
            h.update(offline.identity_salt(self.weights).encode())
        elif kind == "random":
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
        if offline.is_offline(self.model):
            return (
                f"{self.model} (offline: ImageNet EfficientNet-{self.weights.capitalize()} + MiniLM-L6; knows "
                f"{offline.KNOWS})"
            )
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
