"""open_clip models run with torch (imported here only; see spec.py for the interface)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..base import paths
from ..base.files import atomic_write_text
from .hub import HF_HUB_PREFIX
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


def build_model(spec: ModelSpec) -> Any:
    """The open_clip CLIP module for `spec`, on CPU, in eval mode (pretrained weights from the hub cache only)."""
    with _quiet_open_clip():
        return _build_model(spec)


def _build_model(spec: ModelSpec) -> Any:
    import open_clip

    register_config(spec)
    if not spec.model.startswith(HF_HUB_PREFIX) and spec.model not in open_clip.list_models():
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
        model = _pretrained(open_clip, spec)
    return model.eval()


def _pretrained(open_clip: Any, spec: ModelSpec) -> Any:
    """Pretrained weights from the hub cache, never the network: `prepare.prepare_model` downloads them first
    (with progress, verified; hub_download.py), so a miss here means nobody did."""
    from . import hub

    if not hub.is_cached(spec.model, spec.weights):
        raise ModelError(
            f"pretrained weights {spec.model}/{spec.weights} are not in the local cache ({hub.cache_dir()}): `xmr "
            f"index` with this model downloads them once; offline, use {hub.OFFLINE_WAYS}"
        )
    try:
        with hub_offline():
            schema = spec.model.startswith(HF_HUB_PREFIX)  # open_clip ignores (and warns about) a tag for these
            return open_clip.create_model(
                spec.model, pretrained=None if schema else spec.weights, cache_dir=str(hub.cache_dir())
            )
    except Exception as exc:  # noqa: BLE001 - open_clip/hub errors of many types
        raise ModelError(
            f"pretrained weights {spec.model}/{spec.weights} in the hub cache cannot be loaded: "
            f"{type(exc).__name__}: {str(exc)[:300]}"
        ) from None


@contextlib.contextmanager
def hub_offline() -> Iterator[None]:
    """huggingface_hub offline (for open_clip's loads from the cache): it reads HF_HUB_OFFLINE once, at import
    (setting only the variable afterwards left it retrying the network for ~55 s), so its constant is set too."""
    import huggingface_hub.constants as hub_constants

    saved, saved_constant = os.environ.get("HF_HUB_OFFLINE"), hub_constants.HF_HUB_OFFLINE
    os.environ["HF_HUB_OFFLINE"], hub_constants.HF_HUB_OFFLINE = "1", True
    try:
        yield
    finally:
        hub_constants.HF_HUB_OFFLINE = saved_constant
        if saved is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = saved


class TorchClipEncoder:
    """An open_clip model behind the `Encoder` interface; fp16 autocast on CUDA."""

    def __init__(
        self,
        spec: ModelSpec,
        device: str = "cpu",
        model: Any = None,
        identity: str | None = None,
    ) -> None:
        import open_clip

        self.spec = spec
        self.identity = identity or spec.identity()
        self.device = device
        self.model = (model if model is not None else build_model(spec)).to(device)
        self.model.eval()
        if spec.model.startswith(HF_HUB_PREFIX):  # its tokenizer is named in its config, in the hub cache
            from . import hub

            with hub_offline():
                self.tokenizer = open_clip.get_tokenizer(spec.model, cache_dir=str(hub.cache_dir()))
        else:
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
