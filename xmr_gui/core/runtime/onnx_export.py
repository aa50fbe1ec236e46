"""Export an open_clip model's towers to ONNX once per model identity (needs torch; run as a subprocess).

    python -m xmr_gui.core.runtime.onnx_export SPEC_JSON OUT_DIR

Normalisation is folded into the image graph (uint8 NHWC in, unit vectors out) and L2 normalisation into
both, so the runtime side is two `session.run` calls and nothing else. Weights are written as page-aligned
external data (onnx_files.externalize) so that ONNX Runtime memory-maps them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..base.files import file_sha256, replacing_dir
from ..base.progress import Step, quiet
from .onnx_files import FORMAT, externalize
from .spec import ModelSpec


def export_model(spec: ModelSpec, out: Path, on_step: Step = quiet) -> Path:
    """Write visual.onnx, text.onnx and meta.json into `out` (atomically: a temp dir renamed into place).

    fp32 only: the int8 image tower is made from this one and checked on the machine (int8.choose_recipe).
    Pretrained weights come from the hub cache only (prepare.prepare_model downloads them first).
    on_step: hears what the export is doing, one step at a time.
    """
    import torch
    import torch.nn.functional as F

    from .clip_torch import TorchClipEncoder

    on_step(f"loading {spec.model} in torch")
    torch.backends.mha.set_fastpath_enabled(False)  # the fused attention kernel has no ONNX export
    enc = TorchClipEncoder(spec.with_precision("fp32"), "cpu")
    model = enc.model.float().eval().requires_grad_(False)
    mean, std = enc.pixel_mean.cpu(), enc.pixel_std.cpu()

    class Visual(torch.nn.Module):
        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            x = (pixels.permute(0, 3, 1, 2).float() - mean) / std
            return F.normalize(model.encode_image(x), dim=-1)

    class Text(torch.nn.Module):
        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            return F.normalize(model.encode_text(tokens), dim=-1)

    context = int(getattr(model, "context_length", 77))
    kw: dict[str, Any] = dict(output_names=["vectors"], opset_version=17, dynamo=False)
    with replacing_dir(out, ".export-") as tmp:
        with torch.no_grad():
            on_step("exporting the image tower")
            torch.onnx.export(
                Visual(),
                (torch.zeros(2, enc.image_size, enc.image_size, 3, dtype=torch.uint8),),
                str(tmp / "visual.onnx"),
                input_names=["pixels"],
                dynamic_axes={"pixels": {0: "batch"}, "vectors": {0: "batch"}},
                **kw,
            )
            on_step("exporting the text tower")
            torch.onnx.export(
                Text(),
                (torch.zeros(2, context, dtype=torch.long),),
                str(tmp / "text.onnx"),
                input_names=["tokens"],
                dynamic_axes={"tokens": {0: "batch"}, "vectors": {0: "batch"}},
                **kw,
            )
        towers = ["visual.onnx", "text.onnx"]
        on_step("writing the weights for memory-mapping")
        for name in towers:
            externalize(tmp / name)
        files = towers + [f"{name}.data" for name in towers]
        meta = {
            "format": FORMAT,
            "identity": spec.identity(),
            "image_size": enc.image_size,
            "dim": enc.dim,
            "context_length": context,
            "sha256": {name: file_sha256(tmp / name) for name in files},
        }
        (tmp / "meta.json").write_text(json.dumps(meta))
    return out


# -- the command-line entry point (the one place in the core that prints) --------------------------------------
def _tell_parent(what: str) -> None:
    """The subprocess protocol: clip_onnx._make_export relays each "step: " line on stderr to its own on_step."""
    print(f"step: {what}", file=sys.stderr, flush=True)


def serve(export: Callable[[ModelSpec, Path, Step], Path], argv: list[str]) -> int:
    """`python -m ... SPEC_JSON OUT_DIR` for an exporter (this module's, offline_export's): each step a "step: "
    line, a user-caused failure one `error:` line and exit 2.

    The export never touches the network: HF_HUB_OFFLINE is set before huggingface_hub is imported (it reads it
    once). A trailing --allow-download (older parents pass it) is ignored."""
    import os

    from ..base.errors import XmrError

    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        export(ModelSpec.from_json(argv[0]), Path(argv[1]), _tell_parent)
    except XmrError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    return 0


def _main(argv: list[str]) -> int:
    return serve(export_model, argv)


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
