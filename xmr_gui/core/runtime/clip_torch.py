"""open_clip models run with torch (imported here only; see spec.py for the interface)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..base import paths
from ..base.files import atomic_write_text
from .spec import OPENAI_MEAN, OPENAI_STD, RANDOM_SEED, ModelError, ModelSpec


def register_config(spec: ModelSpec) -> None:
    """Make a JSON-defined architecture known to open_clip under `spec.model`."""
    import open_clip

    if not spec.config_json:
        return
    digest = hashlib.sha256(spec.config_json.encode()).hexdigest()[:12]
    target = paths.cache_dir() / "model_configs" / digest / f"{spec.model}.json"
    if not target.exists():
        atomic_write_text(target, spec.config_json)
    open_clip.add_model_config(target)


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Weights from a local file without running pickled code (safetensors, or torch's weights_only loader)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"weights file {path} does not exist")
    try:
        if path.suffix in (".safetensors", ".xmr"):
            from safetensors.torch import load_file

            state: Any = load_file(str(path))  # checked below: torch.load may return anything
            if path.suffix == ".xmr":
                state = {k.removeprefix("backbone."): v for k, v in state.items() if k.startswith("backbone.")}
                if not state:
                    raise ModelError(f"checkpoint {path} embeds no backbone weights")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one refusal with its cause
        raise ModelError(f"cannot read weights {path}: {exc}") from None
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelError(f"weights file {path} holds no state dict")
    return {k.removeprefix("module."): (v.float() if v.dtype == torch.float16 else v) for k, v in state.items()}


@contextlib.contextmanager
def _quiet_open_clip() -> Any:
    """open_clip warns on the root logger that random init means 'no pretrained weights': we say so ourselves."""
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def build_model(spec: ModelSpec, allow_download: bool = False) -> Any:
    """The open_clip CLIP module for `spec`, on CPU, in eval mode."""
    with _quiet_open_clip():
        return _build_model(spec, allow_download)


def _build_model(spec: ModelSpec, allow_download: bool = False) -> Any:
    import open_clip

    register_config(spec)
    if spec.model not in open_clip.list_models():
        raise ModelError(
            f"unknown model {spec.model!r}: give an open_clip name (see `open_clip.list_models()`) "
            "or a path to a JSON model config"
        )
    kind = spec.weights_kind
    if kind == "random":
        torch.manual_seed(RANDOM_SEED)
        model = open_clip.create_model(spec.model, pretrained=None)
    elif kind == "file":
        state = read_state_dict(spec.weights)
        torch.manual_seed(RANDOM_SEED)
        model = open_clip.create_model(spec.model, pretrained=None)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ModelError(f"weights {spec.weights} do not fit {spec.model}: {str(exc)[:400]}") from None
    else:
        model = _pretrained(open_clip, spec, allow_download)
    return model.eval()


def _pretrained(open_clip: Any, spec: ModelSpec, allow_download: bool) -> Any:
    """Weights already in the hub cache load offline; only when that fails, and the user allowed it, the hub is
    asked (after a 5 s reachability probe, so no network fails fast instead of after minutes of retries)."""
    try:
        return _create_offline(open_clip, spec)
    except Exception as exc:  # noqa: BLE001 - open_clip/hub errors of many types
        cached_error = f"{type(exc).__name__}: {str(exc)[:200]}"
    offline_ways = "--weights PATH for a local file, --weights random for a seeded random model, or `xmr demo`"
    if not allow_download:
        raise ModelError(
            f"pretrained weights {spec.model}/{spec.weights} are not in the local cache: pass --allow-download to "
            f"fetch them once from the model hub, or use {offline_ways} ({cached_error})"
        )
    host = _hub_host()
    if not _reachable(host):
        raise ModelError(
            f"pretrained weights {spec.model}/{spec.weights} are not in the local cache and the model hub ({host}) "
            f"cannot be reached from here (no network?); offline: {offline_ways}"
        )
    try:
        return open_clip.create_model(spec.model, pretrained=spec.weights)
    except Exception as exc:  # noqa: BLE001
        raise ModelError(
            f"pretrained weights {spec.model}/{spec.weights} could not be fetched from {host}: check the tag "
            f"against open_clip.list_pretrained() ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None


def _create_offline(open_clip: Any, spec: ModelSpec) -> Any:
    """open_clip.create_model with the hub client offline: huggingface_hub reads HF_HUB_OFFLINE once, at import
    (setting only the variable afterwards left it retrying the network for ~55 s), so its constant is set too."""
    import huggingface_hub.constants as hub

    saved, saved_constant = os.environ.get("HF_HUB_OFFLINE"), hub.HF_HUB_OFFLINE
    os.environ["HF_HUB_OFFLINE"], hub.HF_HUB_OFFLINE = "1", True
    try:
        return open_clip.create_model(spec.model, pretrained=spec.weights)
    finally:
        hub.HF_HUB_OFFLINE = saved_constant
        if saved is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = saved


def _hub_host() -> str:
    from urllib.parse import urlparse

    return urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).netloc or "huggingface.co"


def _reachable(netloc: str, timeout: float = 5.0) -> bool:
    import socket

    host, _, port = netloc.rpartition(":") if netloc.count(":") == 1 else (netloc, "", "")
    try:
        with socket.create_connection((host or netloc, int(port) if port else 443), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


class TorchClipEncoder:
    """An open_clip model behind the `Encoder` interface; fp16 autocast on CUDA."""

    def __init__(
        self,
        spec: ModelSpec,
        device: str = "cpu",
        allow_download: bool = False,
        model: Any = None,
        identity: str | None = None,
    ) -> None:
        import open_clip

        self.spec = spec
        self.identity = identity or spec.identity()
        self.device = device
        self.model = (model if model is not None else build_model(spec, allow_download)).to(device)
        self.model.eval()
        self.tokenizer = open_clip.get_tokenizer(spec.model)
        size = self.model.visual.image_size
        self.image_size = int(size[0] if isinstance(size, (tuple, list)) else size)
        cfg = getattr(self.model.visual, "preprocess_cfg", None) or {}
        mean = cfg.get("mean") or getattr(self.model.visual, "image_mean", None) or OPENAI_MEAN
        std = cfg.get("std") or getattr(self.model.visual, "image_std", None) or OPENAI_STD
        # uint8-scale (1, 3, 1, 1) normalisation, public so the ONNX export folds the same into its image graph
        self.pixel_mean = torch.tensor(mean, dtype=torch.float32, device=device).view(1, 3, 1, 1) * 255.0
        self.pixel_std = torch.tensor(std, dtype=torch.float32, device=device).view(1, 3, 1, 1) * 255.0
        with torch.inference_mode():
            self.dim = int(self.encode_texts(["probe"]).shape[1])

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.device == "cuda":
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def pixels_to_tensor(self, pixels: np.ndarray) -> torch.Tensor:
        """uint8 NHWC → normalised float NCHW on the model's device."""
        x = torch.from_numpy(np.ascontiguousarray(pixels)).to(self.device)
        x = x.permute(0, 3, 1, 2).float()
        return (x - self.pixel_mean) / self.pixel_std

    def encode_images(self, pixels: np.ndarray) -> np.ndarray:
        if len(pixels) == 0:
            return np.zeros((0, self.dim), np.float32)
        with torch.inference_mode(), self._autocast():
            feats = self.model.encode_image(self.pixels_to_tensor(pixels))
        return F.normalize(feats.float(), dim=-1).cpu().numpy()

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, getattr(self, "dim", 0)), np.float32)
        tokens = self.tokenizer(list(texts)).to(self.device)
        with torch.inference_mode(), self._autocast():
            feats = self.model.encode_text(tokens)
        return F.normalize(feats.float(), dim=-1).cpu().numpy()
