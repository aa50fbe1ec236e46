"""Which model a folder gets, and what is on offer: the one decision the CLI, the window and the demo share.

For a folder that is not the demo world the model is, in this order: the user's explicit choice (a checkpoint, or
--model/--weights); else the model its library was indexed with (switching means re-encoding every photo, so it is
never done silently); else a CLIP model already in the local hub cache; else the offline real model
(imagenet-minilm, installed with xmr). The demo-world checkpoint serves the demo world, and other folders only when
chosen explicitly, with a warning: it knows 24 drawn labels, nothing of real photos.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .base import paths
from .runtime import offline
from .runtime.spec import ModelSpec

DEMO_KNOWS = "the demo world's 24 drawn labels (sea, dog, umbrella, …); nothing of real photographs"


@dataclass(frozen=True)
class Offer:
    """One entry of the window's Model menu."""

    title: str
    knows: str  # one line on what it knows
    spec: ModelSpec | None = None
    checkpoint: Path | None = None
    cached: bool = True  # ready without a download
    download_mb: int | None = None
    automatic: bool = False  # "Automatic": `decide` picks per folder


def offers(checkpoints: list[Path] | tuple[Path, ...] = ()) -> list[Offer]:
    """What the window can switch to: automatic, the offline model(s), CLIP models (cached or a download away),
    the demo-world checkpoint and the checkpoints the user opened."""
    out = [Offer("Automatic (best model available for each folder)", "picks per folder", automatic=True)]
    for variant in offline.VARIANTS:
        if offline.missing(variant) is None:
            spec = ModelSpec.parse(offline.OFFLINE_MODEL, variant)
            out.append(Offer(f"{offline.OFFLINE_MODEL} ({variant}, offline)", offline.KNOWS, spec))
    from .runtime import hub

    cached = set(cached_clip())
    listed: list[tuple[str, str, int | None, str]] = [(r.model, r.tag, r.size_mb, r.knows) for r in hub.recommended()]
    listed += [(m, t, None, "any words (CLIP)") for m, t in cached if (m, t) not in {o[:2] for o in listed}]
    for model, tag, mb, knows in listed:
        ready = (model, tag) in cached
        title = f"{model} ({tag})" + ("" if ready else f", download {mb} MB" if mb else ", download")
        out.append(Offer(title, knows, ModelSpec.parse(model, tag), cached=ready, download_mb=mb))
    demo = paths.shipped_demo_checkpoint()
    if demo is not None:
        out.append(Offer("Demo-world model (drawn scenes only)", DEMO_KNOWS, checkpoint=demo))
    for ckpt in checkpoints:
        if demo is None or Path(ckpt).resolve() != demo.resolve():
            out.append(Offer(f"Checkpoint {Path(ckpt).name}", f"the labels of {ckpt}", checkpoint=Path(ckpt)))
    return out


@dataclass(frozen=True)
class Decision:
    """The backbone (or checkpoint) that will encode a folder, and what to tell the user about it."""

    spec: ModelSpec | None
    checkpoint: Path | None
    line: str  # which model and why, one line
    hint: str | None = None  # how to get a better one, when there is a better one
    warning: str | None = None  # a choice that will not work well here


def is_demo_checkpoint(path: str | os.PathLike[str] | None) -> bool:
    shipped = paths.shipped_demo_checkpoint()
    return path is not None and shipped is not None and Path(path).resolve() == shipped.resolve()


def offline_spec() -> ModelSpec:
    return ModelSpec.parse(offline.OFFLINE_MODEL, offline.DEFAULT_VARIANT)


def cached_clip() -> list[tuple[str, str]]:
    """open_clip (model, tag) pairs whose weights are in the local hub cache, the recommended one first."""
    from .runtime import hub

    return hub.cached_models()


def recommended_clip() -> tuple[str, str, int]:
    """The CLIP model suggested to whoever wants more than the offline model: (model, tag, download MB)."""
    from .runtime import hub

    row = next(r for r in hub.recommended() if r.default)
    return row.model, row.tag, row.size_mb


def better_model_hint() -> str:
    model, tag, mb = recommended_clip()
    return (
        f"for search by any words (not only ImageNet's classes), use a CLIP model: add --model {model} --weights {tag} "
        f"(downloaded once, {mb:,.0f} MB)"
    )


def default_weights(model: str) -> str:
    """The weights `--model` gets without `--weights`: the recommended tag for the recommended CLIP model, the
    default variant for the offline model; anything else must say which weights."""
    from .runtime import hub

    if offline.is_offline(model):
        return offline.DEFAULT_VARIANT
    if model.startswith(hub.HF_HUB_PREFIX):  # open_clip loads such a repo's main revision only
        return hub.HF_HUB_REVISION

    recommended = [r.tag for r in hub.recommended() if r.model == model]
    if recommended:
        return recommended[0]
    from .runtime.spec import ModelError

    raise ModelError(f"--model {model} needs --weights: an open_clip pretrained tag, a local weights file, or 'random'")


@dataclass(frozen=True)
class ModelWish:
    """What the user asked for: a checkpoint (its backbone encodes; it wins over a spec), a backbone spec, or
    neither: automatic (`decide` picks per folder)."""

    checkpoint: Path | None = None
    spec: ModelSpec | None = None

    @classmethod
    def from_words(
        cls, model: str | None, weights: str | None = None, checkpoint: str | os.PathLike[str] | None = None
    ) -> ModelWish:
        """The wish of the CLI's --checkpoint / --model / --weights (the weights default per `default_weights`)."""
        if checkpoint is not None:
            return cls(Path(checkpoint), None)
        if model is None:
            return cls()
        return cls(None, ModelSpec.parse(model, weights if weights is not None else default_weights(model)))

    @property
    def automatic(self) -> bool:
        return self.checkpoint is None and self.spec is None


@dataclass(frozen=True)
class Stored:
    """What a folder's library was indexed with (both None: no library yet)."""

    spec: ModelSpec | None = None
    checkpoint: Path | None = None


def decide(folder: str | os.PathLike[str], wish: ModelWish = ModelWish(), stored: Stored = Stored()) -> Decision:
    """The model for `folder`: the user's `wish` when they made one, else what its library was indexed with
    (`stored`), else the demo world's checkpoint, a cached CLIP model or the offline model."""
    from .demo.world import is_demo_world  # not at import: it loads Pillow's drawing (searches never need it)

    demo_world = is_demo_world(folder)
    if wish.checkpoint is not None:
        checkpoint = wish.checkpoint
        warning = None
        if is_demo_checkpoint(checkpoint) and not demo_world:
            warning = f"the demo checkpoint knows only {DEMO_KNOWS}: expect poor results on this folder"
        return Decision(None, checkpoint, f"model: checkpoint {checkpoint}", warning=warning)
    if wish.spec is not None:
        return Decision(wish.spec, None, f"model: {wish.spec.describe()}")
    if stored.checkpoint is not None and stored.checkpoint.is_file():
        return Decision(None, stored.checkpoint, f"model: checkpoint {stored.checkpoint} (as indexed before)")
    if stored.spec is not None:
        return Decision(
            stored.spec.with_precision("fp32"), None, f"model: {stored.spec.describe()} (as indexed before)"
        )
    if demo_world:
        shipped = paths.shipped_demo_checkpoint()
        if shipped is not None:
            return Decision(None, shipped, f"model: the demo world's checkpoint {shipped}")
    cached = [] if getattr(sys, "frozen", False) else cached_clip()  # a packaged app cannot export a new model
    if cached:
        spec = ModelSpec.parse(*cached[0])
        return Decision(spec, None, f"model: {spec.describe()}, found in the local model cache")
    spec = offline_spec()
    return Decision(spec, None, f"model: {spec.describe()}", hint=better_model_hint())


def stored_choice(db: str | os.PathLike[str]) -> Stored:
    """The model and checkpoint a library at `db` was indexed with (`Stored()` when there is none yet)."""
    from .store.catalog import Catalog
    from .store.locate import catalog_file, is_library

    if not is_library(db):
        return Stored()
    catalog = Catalog(catalog_file(db), readonly=True)
    try:
        model, ckpt = catalog.get_meta("model"), catalog.get_meta("checkpoint")
    finally:
        catalog.close()
    return Stored(ModelSpec.from_json(model) if model else None, Path(ckpt) if ckpt else None)
