"""Near-duplicate photos: found from the vectors, confirmed by the pictures themselves (issue #26 item 5).

Candidates are each photo's nearest neighbours in the library's index whose vectors are close (cosine >=
`threshold`), so finding them scales like a search. A candidate pair is confirmed when small colour thumbnails of
the two pictures correlate at >= `MIN_CORRELATION` (Pearson, over 32 × 32 × RGB), trying the second turned by 90°,
180° and 270° and mirrored, and either one cropped by 6 % or 12 % on each side. Resized, recompressed, slightly
cropped and rotated copies pass (measured: every confirmed true pair >= 0.99); two different birds on the same lawn
are close in meaning but not in pixels (bench/duplicates.py). Groups are the confirmed pairs joined; the photo to
keep comes first (most pixels, then oldest). Nothing is deleted.

The check is a few lines of numpy over Pillow, not a perceptual-hash library (`imagehash`, which would bring
PyWavelets and SciPy into every install): a 64-bit DCT hash, the recipe such libraries use, was tried first and
grouped the flat-background photos of the benchmark set wrongly (precision 0.49, recall 0.64 at 12 bits).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from ..base.defaults import DUPLICATE_MIN_CORRELATION, DUPLICATE_THRESHOLD
from ..store import photo_meta
from ..store.library import Library

THRESHOLD = DUPLICATE_THRESHOLD  # cosine of two photos' vectors from which they are candidates
MIN_CORRELATION = DUPLICATE_MIN_CORRELATION  # thumbnails this alike are the same picture
NEIGHBOURS = 20  # candidates looked at per photo
CROPS = (0.0, 0.06, 0.12)  # of each side


def _thumb(im: Image.Image, n: int = 32) -> np.ndarray:
    a = np.asarray(im.resize((n, n), Image.Resampling.BILINEAR), dtype=np.float64).ravel()
    a = a - a.mean()
    return np.asarray(a / (np.linalg.norm(a) + 1e-9), dtype=np.float64)


def _crops(im: Image.Image) -> list[Image.Image]:
    out = []
    for f in CROPS:
        dx, dy = int(im.width * f), int(im.height * f)
        out.append(im.crop((dx, dy, im.width - dx, im.height - dy)))
    return out


@dataclass(frozen=True)
class Look:
    """A picture's thumbnails: as it is (`plain`, one per crop) and every turn and mirror of every crop (`all`)."""

    plain: np.ndarray
    all: np.ndarray


def look(path: str | os.PathLike[str]) -> Look:
    """The thumbnails of the photo at `path` (EXIF orientation applied first)."""
    with Image.open(path) as opened:
        im = ImageOps.exif_transpose(opened).convert("RGB")
        im.thumbnail((128, 128))
    turns = [im, im.rotate(90, expand=True), im.rotate(180), im.rotate(270, expand=True), ImageOps.mirror(im)]
    return Look(np.stack([_thumb(c) for c in _crops(im)]), np.stack([_thumb(c) for t in turns for c in _crops(t)]))


def likeness(a: Look, b: Look) -> float:
    """How alike two pictures are, in -1..1: the best thumbnail correlation over turns, mirrors and crops."""
    return max(float((a.plain @ b.all.T).max()), float((b.plain @ a.all.T).max()))


@dataclass(frozen=True)
class Group:
    paths: tuple[str, ...]  # the one to keep first
    scores: tuple[float, ...]  # each photo's vector cosine to the first (1.0 for the first)


def find_duplicates(
    lib: Library, threshold: float = THRESHOLD, min_correlation: float = MIN_CORRELATION, neighbours: int = NEIGHBOURS
) -> list[Group]:
    """Groups of near-duplicate photos in the library, the largest first."""
    ids, backbone = lib.catalog.indexed_vectors(lib.dim)
    if len(ids) < 2:
        return []
    vectors = lib.space.images(backbone)
    found, scores = lib.index.search(vectors, min(neighbours + 1, len(ids)))
    paths = lib.catalog.paths_by_id()
    cache: dict[int, Look | None] = {}

    def looked(photo: int) -> Look | None:
        if photo not in cache:
            try:
                cache[photo] = look(paths[photo])
            except (OSError, ValueError, KeyError, Image.DecompressionBombError):
                cache[photo] = None  # gone or unreadable since it was indexed: never grouped
        return cache[photo]

    parent = {int(i): int(i) for i in ids}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for row, photo in enumerate(ids.tolist()):
        for other, score in zip(found[row].tolist(), scores[row].tolist(), strict=True):
            if other == photo or other not in parent or score < threshold or root(photo) == root(other):
                continue
            a, b = looked(photo), looked(other)
            if a is not None and b is not None and likeness(a, b) >= min_correlation:
                parent[root(other)] = root(photo)
    groups: dict[int, list[int]] = {}
    for i in parent:
        groups.setdefault(root(i), []).append(i)
    row_of = {int(i): r for r, i in enumerate(ids.tolist())}
    out = []
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda i: _keep_key(lib, i, paths[i]))
        first = vectors[row_of[members[0]]]
        out.append(
            Group(
                tuple(paths[i] for i in members),
                tuple(float(vectors[row_of[i]] @ first) for i in members),
            )
        )
    out.sort(key=lambda g: (-len(g.paths), g.paths[0]))
    return out


def _keep_key(lib: Library, photo: int, path: str) -> tuple[int, str, str]:
    """Most pixels first, then the oldest (taken, else mtime), then the path."""
    meta = photo_meta.get(lib.catalog.connection, photo)
    pixels = (meta.width or 0) * (meta.height or 0) if meta is not None else 0
    if not pixels:
        try:
            with Image.open(path) as im:
                pixels = im.size[0] * im.size[1]
        except (OSError, ValueError):
            pixels = 0
    taken = meta.taken if meta is not None and meta.taken else "9999"
    return (-pixels, taken, path)
