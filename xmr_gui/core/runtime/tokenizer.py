"""CLIP's byte-level BPE tokenizer without torch or open_clip imports (for the ONNX search path).

Reads the BPE merges file that ships inside the open_clip package, located without importing open_clip
(which would pull in torch). Token ids are identical to open_clip's SimpleTokenizer (a test checks).
"""

from __future__ import annotations

import gzip
import html
import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import regex

from ..base import paths
from .spec import ModelError

N_MERGES = 49152 - 256 - 2


def merges_file() -> Path:
    """open_clip's BPE merges: a copy beside our data (packaged apps carry one, without open_clip), else open_clip's."""
    packaged = paths.PACKAGE / "data" / "bpe_simple_vocab_16e6.txt.gz"
    if packaged.is_file():
        return packaged
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("open_clip is not installed: its BPE vocabulary is needed for text queries")
    return Path(list(spec.submodule_search_locations)[0]) / "bpe_simple_vocab_16e6.txt.gz"


@lru_cache(maxsize=1)
def _byte_alphabet() -> dict[int, str]:
    """Bytes → printable unicode stand-ins (CLIP's reversible mapping)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = list(keep)
    extra = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(keep, chars, strict=False)}


def _clean(text: str) -> str:
    # ftfy repairs mojibake and control characters; printable ASCII has neither, and skipping it there
    # saves its import on every command-line query.
    if not (text.isascii() and text.isprintable()):
        try:
            import ftfy

            text = ftfy.fix_text(text)
        except ImportError:
            pass
    text = html.unescape(html.unescape(text)).strip()
    return " ".join(text.split()).lower()


class ClipTokenizer:
    def __init__(self, context_length: int = 77, path: Path | None = None) -> None:
        # Merges stay "a b" strings (dicts built by zip, no per-line split): building the tables fell from
        # 0.16 to 0.05 s, which every command-line query pays. Later duplicates win, as in open_clip.
        merges = gzip.open(path or merges_file()).read().decode("utf-8").split("\n")[1 : N_MERGES + 1]
        alphabet = list(_byte_alphabet().values())
        vocab = alphabet + [a + "</w>" for a in alphabet] + [m.replace(" ", "") for m in merges]
        vocab += ["<start_of_text>", "<end_of_text>"]
        self.ids = dict(zip(vocab, range(len(vocab)), strict=False))
        self.ranks = dict(zip(merges, range(len(merges)), strict=False))
        self.sot, self.eot = self.ids["<start_of_text>"], self.ids["<end_of_text>"]
        self.context_length = context_length
        self._cache: dict[str, list[str]] = {}
        self._pattern = regex.compile(
            r"""<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|"""
            r"""[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            regex.IGNORECASE,
        )

    def _bpe(self, token: str) -> list[str]:
        if token in self._cache:
            return self._cache[token]
        word = [*token[:-1], token[-1] + "</w>"]
        while len(word) > 1:
            pairs = {f"{a} {b}" for a, b in zip(word, word[1:], strict=False)}
            best = min(pairs, key=lambda p: self.ranks.get(p, N_MERGES + 1))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and f"{word[i]} {word[i + 1]}" == best:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        self._cache[token] = word
        return word

    def encode(self, text: str) -> list[int]:
        alphabet = _byte_alphabet()
        out: list[int] = []
        for piece in self._pattern.findall(_clean(text)):
            mapped = "".join(alphabet[b] for b in piece.encode("utf-8"))
            out.extend(self.ids[t] for t in self._bpe(mapped))
        return out

    def __call__(self, texts: list[str]) -> np.ndarray:
        """int64 (N, context_length): <sot> tokens <eot>, truncated (ending in <eot>) and zero-padded."""
        result = np.zeros((len(texts), self.context_length), np.int64)
        for row, text in enumerate(texts):
            tokens = [self.sot, *self.encode(text), self.eot]
            if len(tokens) > self.context_length:
                tokens = tokens[: self.context_length]
                tokens[-1] = self.eot
            result[row, : len(tokens)] = tokens
        return result
