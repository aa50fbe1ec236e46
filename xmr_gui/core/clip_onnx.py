"""open_clip towers served by ONNX Runtime: the search path that never imports torch.

The export happens once per model identity (in a subprocess, so this process stays torch-free) and is cached
under the user cache dir; a cached export that is stale, truncated or altered is detected and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from . import paths
from .encoder import ModelError, ModelSpec

log = logging.getLogger(__name__)


def export_dir(identity: str) -> Path:
    return paths.cache_dir() / "onnx" / hashlib.sha256(identity.encode()).hexdigest()[:20]


def _valid(folder: Path, identity: str) -> bool:
    try:
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("identity") != identity:
            return False
        return all(hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
                   for name, digest in meta["sha256"].items())
    except (OSError, ValueError, KeyError, TypeError):
        return False


def ensure_export(spec: ModelSpec) -> Path:
    """The cached ONNX export of `spec`, made (in a torch subprocess) when missing or invalid."""
    identity = spec.identity()
    folder = export_dir(identity)
    if _valid(folder, identity):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    log.info("exporting %s to ONNX (once per model)", identity)
    done = subprocess.run([sys.executable, "-m", "xmr_gui.core.onnx_export", spec.to_json(), str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0 or not _valid(folder, identity):
        raise ModelError(f"ONNX export of {spec.model} failed: {done.stderr.strip()[-600:]}")
    return folder


class OnnxClipEncoder:
    def __init__(self, spec: ModelSpec, folder: Path | None = None, threads: int | None = None) -> None:
        import onnxruntime as ort

        from .tokenizer import ClipTokenizer

        self.spec = spec
        folder = folder or ensure_export(spec)
        meta = json.loads((folder / "meta.json").read_text())
        self.identity = str(meta["identity"])
        self.image_size, self.dim = int(meta["image_size"]), int(meta["dim"])
        self.device = "cpu"
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.log_severity_level = 3
        providers = ["CPUExecutionProvider"]
        self._visual = ort.InferenceSession(str(folder / "visual.onnx"), options, providers=providers)
        self._text = ort.InferenceSession(str(folder / "text.onnx"), options, providers=providers)
        self.tokenizer = ClipTokenizer(int(meta["context_length"]))

    def encode_images(self, pixels: np.ndarray) -> np.ndarray:
        if len(pixels) == 0:
            return np.zeros((0, self.dim), np.float32)
        return self._visual.run(None, {"pixels": np.ascontiguousarray(pixels, dtype=np.uint8)})[0]

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), np.float32)
        return self._text.run(None, {"tokens": self.tokenizer(list(texts))})[0]
