"""Labels for photos that have none: which photos under a folder have no keywords, what a checkpoint's classifiers
suggest for one photo, and adding chosen labels to its XMP sidecar (never to the photo).

`xmr suggest` and the window's describe panel both call these, so the two suggest and write the same way.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..base.defaults import SUGGEST_MIN_SCORE, SUGGEST_THRESHOLDS
from ..base.errors import XmrError
from ..learn.keywords import photos_under, read_labels, sidecar_for, write_sidecar
from ..learn.space import LabelSpace
from ..store.library import Library
from .labels import top_labels
from .photos import image_vector


class SuggestError(XmrError):
    """A library whose space has no label classifiers to suggest labels with."""


@dataclass(frozen=True)
class Suggestion:
    label: str
    score: float  # the label classifier's probability
    lifted_by: list[tuple[str, float]] = field(default_factory=list)  # graph neighbours that raised it, by how much
    threshold: float | None = None  # the calibrated threshold in use for this label (`calibrated`); None: none
    per_label: bool = False  # `threshold` is the label's own (THRESHOLDS "per-label"), not one for every label


THRESHOLDS = SUGGEST_THRESHOLDS


def calibrated(space: LabelSpace, kind: str | None = None) -> list[float | None]:
    """Each label's calibrated threshold of `kind` in THRESHOLDS, None where the checkpoint has none: "global" the
    card's one for every label; "per-label" each label's own (the global one, then None, for a card without); None:
    the checkpoint's own default (`space.suggest_thresholds`)."""
    kind = space.suggest_thresholds if kind is None else kind
    if kind not in THRESHOLDS:
        raise ValueError(f"thresholds are one of {THRESHOLDS}, not {kind!r}")
    overall = space.global_threshold
    if kind == "per-label" and space.thresholds is not None:
        return [float(t) for t in space.thresholds]
    return [overall] * len(space.labels)


def cut(threshold: float | None, min_score: float | None = None) -> float:
    """The score from which a label is suggested: `min_score` when given (one for every label, the user's choice),
    else the label's calibrated `threshold` (`calibrated`: by default the one for every label) when its checkpoint
    has one, else SUGGEST_MIN_SCORE. `xmr suggest` and the window's describe panel both decide with it."""
    if min_score is not None:
        return min_score
    return SUGGEST_MIN_SCORE if threshold is None else threshold


@dataclass
class Unlabelled:
    """The photos under a folder without keywords, and what could not be read on the way, (photo, one line) each."""

    photos: list[Path] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)


def unlabelled_photos(folder: str | os.PathLike[str]) -> Unlabelled:
    """The photos under `folder` with no XMP or IPTC keywords (embedded or in a sidecar), in `photos_under` order.

    A sidecar or packet that cannot be read is reported in `problems`, not raised; the photo's other keywords still
    count, so a photo whose only sidecar is corrupt is unlabelled."""
    out = Unlabelled()
    for photo in photos_under(folder):
        found = read_labels(photo)
        out.problems += [(photo, problem) for problem in found.problems]
        if not found.labels:
            out.photos.append(photo)
    return out


def suggest(
    lib: Library,
    photo: str | os.PathLike[str],
    k: int = 5,
    min_score: float | None = None,
    thresholds: str | None = None,
) -> list[Suggestion]:
    """The library's checkpoint labels for `photo` whose probability is at least `min_score`, at most `k`, best
    first, each with the graph neighbours that lifted it (none when the checkpoint has no GCN). min_score None: the
    checkpoint's `thresholds` (THRESHOLDS; None: its own default, each label's own for a checkpoint trained since
    they are shrunk) calibrated on the user's labelled photos (`learn.calibrate`), else SUGGEST_MIN_SCORE.

    The photo's vector comes from the catalog when it is indexed, else it is encoded now (ImageSkipped when it
    cannot be read). SuggestError when the library's space has no label classifiers."""
    space = lib.space
    if not isinstance(space, LabelSpace):
        raise SuggestError("suggesting labels needs a trained checkpoint (one with label classifiers)")
    z = image_vector(lib, photo)
    scores = space.label_probabilities(z)[0]
    kind = space.suggest_thresholds if thresholds is None else thresholds
    own = calibrated(space, kind)
    per_label = kind == "per-label" and space.thresholds is not None
    cuts = np.array([cut(t, min_score) for t in own], np.float32)
    passing = np.where(scores >= cuts, scores, -np.inf)  # each label against its own threshold
    # probabilities are >= 0: a floor of -1 keeps every passing label and drops the failing ones (-inf)
    index = {name: i for i, name in enumerate(space.labels)}
    return [
        Suggestion(r.label, r.score, space.lifted_by(z, index[r.label]), own[index[r.label]], per_label)
        for r in top_labels(passing, space.labels, k, -1.0)
    ]


def add_to_sidecar(photo: str | os.PathLike[str], labels: Sequence[str]) -> Path:
    """Add `labels` to the photo's XMP sidecar (`keywords.write_sidecar`: the photo is never modified, an existing
    sidecar keeps its other fields, a corrupt one is left alone with a KeywordError); returns the sidecar's path.

    An OSError names the sidecar (not the temp file written beside it)."""
    try:
        return write_sidecar(photo, labels)
    except OSError as exc:
        if exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror, str(sidecar_for(photo))) from exc
