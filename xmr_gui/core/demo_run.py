"""`xmr demo`: build the demo world in the data dir, index it and run a few searches (the CLI prints them).

The window's "Open the demo" draws the same world (`draw_world`) and indexes it with its own model choice.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .base import paths
from .demo.world import add_sample_photos, write_demo
from .indexing.indexer import index_folder
from .learn import checkpoint
from .models import ModelWish
from .opening import OpenRequest, open_folder
from .runtime.spec import ModelSpec, Precision
from .search.labels import LabelScore, describe
from .search.photos import Hit, search_text

EXAMPLE_QUERIES = (
    "a beach with a boat",
    "a city at night with the moon",
    "a dog in the forest",
    "snow in the mountains",
)


demo_checkpoint = paths.shipped_demo_checkpoint


@dataclass(frozen=True)
class DemoResults:
    searches: list[tuple[str, list[Hit]]]  # each example query with its best photos
    described: Path  # the photo whose labels were ranked
    labels: list[LabelScore]


def demo_model() -> tuple[ModelSpec, str]:
    """The best model available offline for the demo (the shipped checkpoint's backbone, else a tiny random one),
    and how to announce it."""
    ckpt = demo_checkpoint()
    spec = checkpoint.choose_backbone(ckpt, ModelSpec.parse("xmr-tiny", "random"))
    if ckpt is not None:
        return spec, f"model: shipped demo checkpoint {ckpt}"
    return spec, (
        "no trained demo model found: using a tiny RANDOM model, so results are arbitrary (train one with `xmr train`)"
    )


def draw_world(root: Path, size: int = 400, seed: int = 0) -> tuple[Path, list[Path]]:
    """The demo world under `root` (drawn once per size and seed), and the sample photos that joined it (the `demo`
    extra's real photos, when it is installed)."""
    out = write_demo(root / f"world-{seed}-{size}", size, seed)
    return out, add_sample_photos(out / "images")


def run_demo(root: Path, size: int, seed: int, say: Callable[[str], None], db: Path | None = None) -> DemoResults:
    """Write the world under `root`, index it (with the shipped checkpoint when there is one) and search it.

    say: hears each step, one line at a time.
    """
    out, samples = draw_world(root, size, seed)
    say(f"xmr demo: {size} images and labels in {out}")
    if samples:
        say(f"xmr demo: + {len(samples)} scikit-image sample photos in {samples[0].parent}")
    spec, note = demo_model()
    say(f"xmr demo: {note}")
    folder = out / "images"
    ckpt = demo_checkpoint()
    # the demo runs at fp32 on any machine, so its example results read the same everywhere
    wish = ModelWish(ckpt, None) if ckpt is not None else ModelWish(None, spec)
    with open_folder(OpenRequest(folder, wish, db=db, precision=Precision.FP32)).library as lib:
        report = index_folder(lib, folder)
        say("xmr demo: indexed " + ", ".join(f"{v} {k}" for k, v in report.counts().items()))
        searches = [(query, search_text(lib, query, k=3)) for query in EXAMPLE_QUERIES]
        first = folder / sorted(os.listdir(folder))[0]
        return DemoResults(searches, first, describe(lib, first, k=5))
