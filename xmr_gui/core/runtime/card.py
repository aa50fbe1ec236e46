"""The model card of an .xmr checkpoint, read from its safetensors header without loading a tensor.

It lives in the runtime because the runtime needs it: a spec whose weights are a checkpoint's embedded backbone
is named by the hash the card records (`ModelSpec.identity`). Whole checkpoints are learn.checkpoint's.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

from ..base.errors import XmrError

FORMAT = "xmr-checkpoint"
FORMAT_VERSION = 1
MAX_HEADER = 64 << 20


class CheckpointError(XmrError):
    """A checkpoint that is refused; the message names the problem."""


def read_card(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The model card alone, from the safetensors header (cheap; validates the header)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise CheckpointError(f"{path} is not an xmr checkpoint: file too short ({size} bytes)")
            (n,) = struct.unpack("<Q", head)
            if n > MAX_HEADER or n + 8 > size:
                raise CheckpointError(
                    f"{path} is not an xmr checkpoint: no valid safetensors header "
                    "(is it a pickle or another format? xmr never unpickles files)"
                )
            header = json.loads(f.read(n))
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: safetensors header is corrupt ({exc})") from None
    meta = header.get("__metadata__") or {} if isinstance(header, dict) else {}
    if meta.get("format") != FORMAT or "xmr_card" not in meta:
        raise CheckpointError(f"{path} is a safetensors file but not an xmr checkpoint (no model card)")
    try:
        card = json.loads(meta["xmr_card"])
    except ValueError as exc:
        raise CheckpointError(f"{path}: model card is not valid JSON ({exc})") from None
    version = card.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format v{version}; this xmr reads up to v{FORMAT_VERSION}: upgrade xmr"
        )
    return dict(card)
