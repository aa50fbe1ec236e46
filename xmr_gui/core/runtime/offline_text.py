"""MiniLM's word-piece tokenizer for the ONNX text tower (Hugging Face `tokenizers`: no torch, no transformers)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .offline import MAX_TOKENS
from .spec import ModelError


def load_tokenizer(path: Path) -> Any:
    """The tokenizer.json beside the export, set to truncate at MiniLM's 256 tokens and not to pad (`pad` does)."""
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise ModelError("the offline model needs the package tokenizers (pip install tokenizers)") from None
    tok = Tokenizer.from_file(str(path))
    tok.no_padding()
    tok.enable_truncation(MAX_TOKENS)
    return tok


def pad(tokenizer: Any, texts: Sequence[str]) -> np.ndarray:
    """int64 (N, longest) word-piece ids, 0-padded (MiniLM's [PAD] id; the graph masks it)."""
    encoded = [e.ids for e in tokenizer.encode_batch(list(texts))]
    out = np.zeros((len(encoded), max((len(e) for e in encoded), default=1)), np.int64)
    for i, ids in enumerate(encoded):
        out[i, : len(ids)] = ids
    return out


class WordPieceTokenizer:
    """Callable like tokenizer.ClipTokenizer: strings → the id matrix the text tower takes."""

    def __init__(self, path: Path) -> None:
        self._tok = load_tokenizer(path)

    def __call__(self, texts: list[str]) -> np.ndarray:
        return pad(self._tok, texts)
