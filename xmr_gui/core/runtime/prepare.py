"""Get a model ready before the first photo: export, quantisation and the int8 check, each step reported.

`prepare_model` is what the CLI, the window and the demo call once they know which backbone they want: it
downloads pretrained weights that are not in the hub cache yet (hub_download.py; never when offline), resolves
`--precision auto` (int8 only where the check passed on this CPU), makes the ONNX export when the model will run
on ONNX Runtime, and returns the spec to store in the library with the reason for its precision. Everything
after the download loads weights from the cache only.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..base.progress import Step, quiet
from .factory import choose_precision, resolve_device
from .offline import is_offline
from .spec import ModelError, ModelSpec, Runtime


@dataclass(frozen=True)
class Prepared:
    spec: ModelSpec  # with the precision that will run
    requested: str  # auto, fp32 or int8
    reason: str  # one line: why this precision
    int8_check: dict[str, Any] | None = field(default=None, repr=False)  # the record from int8.choose_recipe
    checked_now: bool = False  # the check ran in this call (so the reason is news, worth saying once)
    seconds: float = 0.0

    @property
    def fell_back(self) -> bool:
        """auto wanted int8 but the check failed: worth a word on screen."""
        return self.requested == "auto" and self.int8_check is not None and self.spec.precision == "fp32"

    def to_json(self) -> str:
        check = self.int8_check or {}
        keep = {
            k: check[k]
            for k in ("passed", "recipe", "tried", "calibration", "criteria", "cpu", "onnxruntime")
            if k in check
        }
        return json.dumps(
            {"precision": self.spec.precision, "requested": self.requested, "reason": self.reason, "int8_check": keep}
        )


def _runs_on_onnx(spec: ModelSpec, device: str) -> bool:
    if is_offline(spec.model):  # the offline model runs only on ONNX Runtime
        return True
    runtime = Runtime.chosen()
    if runtime == Runtime.TORCH:
        return False
    return runtime == Runtime.ONNX or resolve_device(device) == "cpu"


def can_quantise() -> bool:
    """Whether this install can quantise and check an image tower (onnx and ONNX Runtime's quantiser)."""
    import importlib.util

    try:
        return all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxruntime.quantization"))
    except ImportError:  # the parent package is missing
        return False


def fetch_weights(
    spec: ModelSpec,
    offline: bool = False,
    on_step: Step = quiet,
    on_bytes: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Pretrained weights (an open_clip tag, or an hf-hub: model) put into the hub cache if they are not there.

    Raises a one-line ModelError offline, without network (within ~5 s) or for a tag nobody knows; a
    cancelled download raises PreparationCancelled (what arrived is kept for the next try)."""
    from . import hub

    if spec.weights_kind != "tag":  # a file, random, or the offline model ("builtin")
        return
    if spec.config_json:  # xmr's own architectures (a JSON config): no hub has weights for them
        raise ModelError(
            f"no pretrained weights named {spec.weights!r} are known for {spec.model}: "
            "use --weights PATH for a local file or --weights random"
        )
    if hub.is_cached(spec.model, spec.weights):
        return
    from .hub_download import DownloadCancelled, download

    try:
        download(spec.model, spec.weights, on_bytes, cancel, offline, on_step)
    except DownloadCancelled as exc:
        from .clip_onnx import PreparationCancelled

        raise PreparationCancelled(str(exc)) from None


def prepare_model(
    spec: ModelSpec,
    precision: str = "auto",
    device: str = "auto",
    *,
    offline: bool = False,
    on_step: Step = quiet,
    cancel: threading.Event | None = None,
    on_bytes: Callable[[int, int], None] | None = None,
    allow_download: bool | None = None,
) -> Prepared:
    """`spec` made ready to encode: weights downloaded (unless `offline`), precision resolved, ONNX export (and
    int8 check) done where they will be used.

    on_step hears each step ("downloading ViT-B-32/laion2b_s34b_b79k (605 MB) from huggingface.co", "exporting
    …"); on_bytes(done, total) the download's bytes. allow_download: ignored (downloading on first use is the
    default now; kept so older callers still run).
    """
    del allow_download
    from .clip_onnx import ensure_export, int8_record
    from .int8 import MIN_SPEEDUP, summary

    started = time.perf_counter()
    if precision not in ("auto", "fp32", "int8"):
        spec.with_precision(precision)  # raises the one-line ModelError
    fetch_weights(spec, offline, on_step, on_bytes, cancel)
    wanted = choose_precision(precision, device)
    if wanted == "fp32":
        reason = "fp32 asked for" if precision == "fp32" else "fp32: the model runs with torch (GPU or XMR_RUNTIME)"
        if _runs_on_onnx(spec, device):
            ensure_export(spec.with_precision("fp32"), on_step, cancel)
        return Prepared(spec.with_precision("fp32"), precision, reason, seconds=time.perf_counter() - started)
    folder = ensure_export(spec.with_precision("fp32"), on_step, cancel)
    record = int8_record(folder)
    checked_now = record is None
    if record is None and precision == "auto" and not can_quantise():
        # a packaged app leaves the quantiser out: it serves int8 checked where it was built, else fp32
        reason = "fp32: this install cannot make and check an int8 tower (no onnx); int8 needs the Python package"
        return Prepared(spec.with_precision("fp32"), precision, reason, seconds=time.perf_counter() - started)
    if record is None:
        folder = ensure_export(spec.with_precision("int8"), on_step, cancel)
        record = int8_record(folder) or {}
    line = summary(record)
    speedup = next((t.get("speedup") for t in record.get("tried", []) if t["recipe"] == record.get("recipe")), None)
    slow = speedup is not None and speedup < MIN_SPEEDUP
    if precision == "int8" and record.get("recipe"):
        chosen = spec.with_precision("int8")
        reason = line if record.get("passed") else f"int8 asked for, served although {line}"
    elif record.get("passed") and not slow:
        chosen, reason = spec.with_precision("int8"), line
    elif record.get("passed"):
        chosen = spec.with_precision("fp32")
        reason = f"{line}, but it is not faster here ({speedup:.2f}x fp32 on the check batch): using fp32"
    else:
        chosen = spec.with_precision("fp32")
        reason = f"{line}: using fp32"
    seconds = time.perf_counter() - started
    if checked_now:
        on_step(f"model ready in {seconds:.1f} s")
    return Prepared(chosen, precision, reason, record, checked_now, seconds)
