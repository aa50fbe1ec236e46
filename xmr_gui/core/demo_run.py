"""`xmr demo`: build the demo world in the data dir, index it and run a few searches (the CLI prints them)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .base import paths
from .demo.world import add_sample_photos, write_demo
from .indexing.indexer import index_folder
from .runtime.spec import ModelSpec
from .search.labels import LabelScore, describe
from .search.photos import Hit, search_text
from .store.library import Library

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
    """The best model available offline for the demo, and how to announce it."""
    ckpt = demo_checkpoint()
    if ckpt is not None:
        from .learn.checkpoint import Checkpoint

        return Checkpoint.load(ckpt).backbone_spec(), f"model: shipped demo checkpoint {ckpt}"
    spec = ModelSpec.parse("xmr-tiny", "random")
    return spec, (
        "no trained demo model found: using a tiny RANDOM model, so results are arbitrary (train one with `xmr train`)"
    )


def run_demo(root: Path, size: int, seed: int, say: Callable[[str], None], db: Path | None = None) -> DemoResults:
    """Write the world under `root`, index it (with the shipped checkpoint when there is one) and search it.

    say: hears each step, one line at a time.
    """
    out = write_demo(root / f"world-{seed}-{size}", size, seed)
    say(f"xmr demo: {size} images and labels in {out}")
    samples = add_sample_photos(out / "images")
    if samples:
        say(f"xmr demo: + {len(samples)} scikit-image sample photos in {samples[0].parent}")
    spec, note = demo_model()
    say(f"xmr demo: {note}")
    folder = out / "images"
    with Library.create(db or paths.default_db_dir(folder), folder, spec) as lib:
        if demo_checkpoint() is not None:
            lib.attach_checkpoint(demo_checkpoint())  # type: ignore[arg-type]
        report = index_folder(lib, folder)
        say("xmr demo: indexed " + ", ".join(f"{v} {k}" for k, v in report.counts().items()))
        searches = [(query, search_text(lib, query, k=3)) for query in EXAMPLE_QUERIES]
        first = folder / sorted(os.listdir(folder))[0]
        return DemoResults(searches, first, describe(lib, first, k=5))
