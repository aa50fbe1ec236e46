"""Labels to review (issue #25 item 6): photos whose keywords disagree with their neighbours (and, with a
checkpoint, with the model), and labels that look like one label written two ways.

- "missing": most of a photo's nearest photos (by vector) carry a keyword the photo lacks; with a checkpoint
  that knows the label, its classifier must agree (probability >= `MODEL_AGREES`).
- "doubtful": a photo carries a keyword that none of its nearest photos carries, though enough photos in the
  library do (so it is not merely a rare label); with a checkpoint that knows it, its classifier doubts it too.
- "merge": two keywords written as variants of one word ("cat" / "Cats"), or carried by nearly the same photos.

The keywords are the library's own (read at index time into the catalog, `store.photo_meta`). `review` writes
nothing; `write_missing` adds the missing labels the user accepted to their photos' XMP sidecars, never to a photo
(`xmr review-labels --write-sidecars` and the window's "Review labels…" both call it). A doubtful keyword or a merge
has no write here: removing a keyword from a sidecar that another program also keeps, or renaming one across a
library, is left to the user's photo manager.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..base.errors import XmrError
from ..learn.keywords import KeywordError
from ..learn.space import LabelSpace
from ..store.library import Library
from .label_query import singular
from .suggest import add_to_sidecar

NEIGHBOURS = 10
MISSING_SHARE = 0.6  # of the neighbours carrying a keyword the photo lacks
MIN_PHOTOS = 3  # a keyword on fewer photos than this is too rare to judge
MODEL_AGREES = 0.5
MODEL_DOUBTS = 0.2
MERGE_OVERLAP = 0.8  # Jaccard of two keywords' photo sets
CHUNK = 512  # photos whose neighbours are looked up at once, between progress reports and cancel checks


class ReviewCancelled(XmrError):
    """The user stopped the review (nothing had been written)."""


@dataclass(frozen=True)
class Finding:
    kind: str  # "missing", "doubtful" or "merge"
    subject: str  # the photo's path; for "merge", the first keyword
    label: str  # the keyword; for "merge", the second one
    score: float  # neighbours' share (missing), 1 - share (doubtful), overlap (merge)
    why: str


@dataclass(frozen=True)
class Judged:
    """How far a review is: `done` photos of `total` judged."""

    done: int
    total: int


@dataclass
class Written:
    """What `write_missing` did: the sidecars written, and the photos whose sidecar could not be, with why."""

    sidecars: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def _keywords(lib: Library) -> tuple[dict[int, set[str]], dict[str, str]]:
    """Each indexed photo's keywords (case-folded) and one spelling per folded keyword."""
    by_photo: dict[int, set[str]] = {}
    spelling: dict[str, str] = {}
    rows = lib.catalog.connection.execute(
        "SELECT k.id, k.keyword FROM photo_keywords k JOIN files f ON f.id = k.id WHERE f.status = 'indexed'"
    )
    for photo, keyword in rows:
        folded = str(keyword).casefold()
        by_photo.setdefault(int(photo), set()).add(folded)
        spelling.setdefault(folded, str(keyword))
    return by_photo, spelling


def review(
    lib: Library,
    neighbours: int = NEIGHBOURS,
    on_progress: Callable[[Judged], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[Finding]:
    """What to look at, strongest first within each kind: missing, doubtful, then merge. Reports `Judged` after each
    CHUNK of photos; a set `cancel` stops it with ReviewCancelled."""
    by_photo, spelling = _keywords(lib)
    counts: dict[str, int] = {}
    for labels in by_photo.values():
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
    ids, backbone = lib.catalog.indexed_vectors(lib.dim)
    findings: list[Finding] = []
    if len(ids) > 1 and by_photo:
        vectors = lib.space.images(backbone)
        judge = _Judge(by_photo, counts, spelling, lib.catalog.paths_by_id(), _Model.of(lib, vectors), neighbours)
        for start in range(0, len(ids), CHUNK):
            if cancel is not None and cancel.is_set():
                raise ReviewCancelled("review stopped: nothing was written")
            found, _ = lib.index.search(vectors[start : start + CHUNK], min(neighbours + 1, len(ids)))
            for offset, near in enumerate(found.tolist()):
                row = start + offset
                findings += judge.photo(row, int(ids[row]), [int(n) for n in near])
            if on_progress is not None:
                on_progress(Judged(min(start + CHUNK, len(ids)), len(ids)))
    findings.sort(key=lambda f: (f.kind != "missing", -f.score, f.subject, f.label))
    return findings + _merges(by_photo, spelling)


def write_missing(findings: Iterable[Finding]) -> Written:
    """Add the "missing" findings' keywords to their photos' XMP sidecars, one write per photo
    (`suggest.add_to_sidecar`: the photo is never modified, an existing sidecar keeps its other fields, a corrupt
    one is left alone). Other kinds are skipped: there is no safe write for them here (module docstring). A
    sidecar that cannot be written is in `failed` and the others are still written."""
    missing: dict[str, list[str]] = {}
    for f in findings:
        if f.kind == "missing" and f.label not in missing.setdefault(f.subject, []):
            missing[f.subject].append(f.label)
    out = Written()
    for photo, labels in missing.items():
        try:
            out.sidecars.append(add_to_sidecar(photo, labels))
        except (KeywordError, OSError) as exc:  # a corrupt sidecar, a read-only folder, ...: say so, go on
            out.failed.append((photo, str(exc)))  # an OSError names the sidecar
    return out


@dataclass(frozen=True)
class _Judge:
    """The library's keywords, and how one photo's keywords are judged against its neighbours' (and the model's)."""

    by_photo: dict[int, set[str]]
    counts: dict[str, int]
    spelling: dict[str, str]
    paths: dict[int, str]
    model: _Model | None
    neighbours: int

    def photo(self, row: int, photo: int, found: list[int]) -> list[Finding]:
        near = [n for n in found if n != photo][: self.neighbours]
        if len(near) < MIN_PHOTOS:
            return []
        mine = self.by_photo.get(photo, set())
        share: dict[str, float] = {}
        for n in near:
            for label in self.by_photo.get(n, ()):
                share[label] = share.get(label, 0.0) + 1.0 / len(near)
        out = []
        model, path = self.model, self.paths[photo]
        for label, s in share.items():
            agrees = model is None or model.agrees(row, label, MODEL_AGREES, True)
            if label not in mine and s >= MISSING_SHARE and agrees:
                why = f"{s:.0%} of its {len(near)} nearest photos carry it"
                out.append(Finding("missing", path, self.spelling[label], s, why))
        for label in mine:
            if self.counts[label] >= MIN_PHOTOS and share.get(label, 0.0) == 0.0:
                if model is None or model.agrees(row, label, MODEL_DOUBTS, False):
                    why = f"none of its {len(near)} nearest photos carries it ({self.counts[label]} photos do)"
                    out.append(Finding("doubtful", path, self.spelling[label], 1.0, why))
        return out


@dataclass(frozen=True)
class _Model:
    """A checkpoint's label probabilities for every photo (rows as the catalog's ids), its labels case-folded."""

    probabilities: np.ndarray
    column: dict[str, int]

    @classmethod
    def of(cls, lib: Library, vectors: np.ndarray) -> _Model | None:
        space = lib.space
        if not isinstance(space, LabelSpace):
            return None
        return cls(space.label_probabilities(vectors), {name.casefold(): c for c, name in enumerate(space.labels)})

    def agrees(self, row: int, label: str, bound: float, above: bool) -> bool:
        """Whether the checkpoint agrees: probability >= bound (above) or < bound (not above); for a label it does
        not know, the neighbours decide alone."""
        c = self.column.get(label)
        if c is None:
            return True
        p = float(self.probabilities[row, c])
        return p >= bound if above else p < bound


def _merges(by_photo: dict[int, set[str]], spelling: dict[str, str]) -> list[Finding]:
    photos: dict[str, set[int]] = {}
    for photo, labels in by_photo.items():
        for label in labels:
            photos.setdefault(label, set()).add(photo)
    names = sorted(photos)
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if singular(a) == singular(b):
                out.append(Finding("merge", spelling[a], spelling[b], 1.0, "one word written two ways"))
                continue
            both, either = len(photos[a] & photos[b]), len(photos[a] | photos[b])
            if min(len(photos[a]), len(photos[b])) >= MIN_PHOTOS and both / either >= MERGE_OVERLAP:
                why = f"on nearly the same photos ({both} of {either})"
                out.append(Finding("merge", spelling[a], spelling[b], both / either, why))
    return sorted(out, key=lambda f: -f.score)
