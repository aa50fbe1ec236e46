"""Write xmr_gui/data/clip_models.json: which hub file holds each open_clip (model, pretrained tag)'s weights.

    .venv/bin/python docs/gen_clip_models.py

xmr downloads pretrained weights itself (runtime/hub_download.py, through huggingface_hub) and asks whether
they are cached (runtime/hub.py) without importing open_clip (and so torch), so it needs open_clip's registry as
data. For every tag `open_clip.list_pretrained()` knows, the entry is the hub
repo of its config's `hf_hub` and the files open_clip would fetch, in the order it tries them
(`open_clip.pretrained.download_pretrained_from_hf`: the safetensors alternative first, then the named file).
tests/core/runtime/test_hub.py regenerates the table from the installed open_clip and fails when the committed one
differs, so an open_clip upgrade cannot leave it stale silently. The recommended models (the window's Model menu) and
their approximate download sizes are kept here by hand.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "xmr_gui" / "data" / "clip_models.json"

# (model, tag): approximate download in MB (the safetensors file), what the model knows, default or not.
# Zero-shot ImageNet top-1 from open_clip's results table (docs/openclip_results.csv).
RECOMMENDED: list[dict[str, Any]] = [
    {
        "model": "ViT-B-32",
        "tag": "laion2b_s34b_b79k",
        "size_mb": 605,
        "knows": "general photos and everyday words (LAION-2B; 66% ImageNet zero-shot); fastest, the default",
        "default": True,
    },
    {
        "model": "ViT-B-32-256",
        "tag": "datacomp_s34b_b86k",
        "size_mb": 606,
        "knows": "general photos, sharper on objects (DataComp-1B; 73% ImageNet zero-shot); ~1.3x slower",
        "default": False,
    },
    {
        "model": "ViT-B-16",
        "tag": "laion2b_s34b_b88k",
        "size_mb": 599,
        "knows": "general photos, finer detail (LAION-2B; 70% ImageNet zero-shot); ~4x slower than ViT-B-32",
        "default": False,
    },
    {
        "model": "ViT-L-14",
        "tag": "datacomp_xl_s13b_b90k",
        "size_mb": 1710,
        "knows": "the most accurate here (DataComp-XL; 79% ImageNet zero-shot); ~15x slower, for a GPU",
        "default": False,
    },
]


def hub_files(filename: str) -> list[str]:
    """The files open_clip asks the hub for, in order (pretrained._get_safe_alternatives, then the name)."""
    from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

    if filename == HF_WEIGHTS_NAME:
        return [HF_SAFE_WEIGHTS_NAME, filename]
    if filename.endswith((".bin", ".pth")):
        return [filename[:-4] + ".safetensors", filename]
    return [filename]


def table() -> dict[str, Any]:
    """The table for the installed open_clip (what the test compares the committed file with)."""
    import open_clip
    from open_clip.constants import HF_WEIGHTS_NAME
    from open_clip.pretrained import get_pretrained_cfg, list_pretrained

    models: dict[str, dict[str, Any]] = {}
    for model, tag in list_pretrained():
        hf_hub = get_pretrained_cfg(model, tag).get("hf_hub", "")
        if not hf_hub:  # a URL-only tag (none in open_clip 3.3): xmr cannot fetch it
            continue
        repo, filename = os.path.split(hf_hub)
        models.setdefault(model, {})[tag] = {"repo": repo, "files": hub_files(filename or HF_WEIGHTS_NAME)}
    for row in RECOMMENDED:
        if row["tag"] not in models.get(row["model"], {}):
            raise SystemExit(f"recommended {row['model']}/{row['tag']} is not in open_clip {open_clip.__version__}")
    return {"open_clip": open_clip.__version__, "recommended": RECOMMENDED, "models": models}


def dumps(data: dict[str, Any]) -> str:
    """One line per tag, so a diff after an open_clip upgrade shows what changed."""
    lines = ["{", f' "open_clip": {json.dumps(data["open_clip"])},', ' "recommended": [']
    lines += [f"  {json.dumps(row)}," for row in data["recommended"]]
    lines[-1] = lines[-1].rstrip(",")
    lines += [" ],", ' "models": {']
    for i, (model, tags) in enumerate(data["models"].items()):
        lines.append(f"  {json.dumps(model)}: {{")
        lines += [f"   {json.dumps(tag)}: {json.dumps(entry)}," for tag, entry in tags.items()]
        lines[-1] = lines[-1].rstrip(",")
        lines.append("  }," if i < len(data["models"]) - 1 else "  }")
    lines += [" }", "}"]
    return "\n".join(lines) + "\n"


def main() -> int:
    text = dumps(table())
    json.loads(text)  # well-formed
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
