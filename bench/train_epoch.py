"""Training time per epoch on this CPU for 20k cached items (ViT-B-sized 512-d features, 24 labels).

    python bench/train_epoch.py [--items 20000] [--epochs 3] [--config l2gcn]

Features are seeded random unit vectors (speed does not depend on their values); labels come from the demo
world's sampler, so the label graph has the demo's structure. Prints seconds per epoch per config.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

import numpy as np


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=20000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--config", action="append", default=None)
    args = p.parse_args(argv)
    import torch

    from xmr_gui.core.demo.world import LABELS, sample_scene
    from xmr_gui.core.learn.dataset import Dataset, Features
    from xmr_gui.core.learn.model import TrainConfig
    from xmr_gui.core.learn.train import train_space

    rng = np.random.default_rng(0)
    r = random.Random(0)
    names = sorted(LABELS)
    Y = np.zeros((args.items, len(names)), np.float32)
    for i in range(args.items):
        for label in sample_scene(r)[1]:
            Y[i, names.index(label)] = 1

    def unit(n: int, d: int) -> np.ndarray:
        x = rng.standard_normal((n, d)).astype(np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    splits = np.array(["train"] * args.items)
    splits[::10] = "val"
    ds = Dataset(
        root=None,
        files=[""] * args.items,
        captions=[""] * args.items,
        labels=Y,
        label_names=names,  # type: ignore[arg-type]
        splits=splits,
        fingerprint="bench",
    )
    feats = Features(
        unit(args.items, 512),
        unit(args.items, 512),
        unit(len(names), 512),
        unit(args.items, 384),
        np.ones(args.items, bool),
    )
    print(
        f"{args.items} cached items ({(splits == 'train').sum()} train), 512-d, torch threads {torch.get_num_threads()}"
    )
    for name in args.config or ["heads-only", "l2gcn", "ussl", "bcls", "l2gcn+bcls"]:
        cfg = TrainConfig.load(name)
        cfg.epochs, cfg.patience = args.epochs, args.epochs
        t0 = time.perf_counter()
        result = train_space(ds, feats, cfg)
        per = np.mean([h.seconds for h in result.history])
        print(f"{name}: {per:.2f} s/epoch (incl. validation mAP), {time.perf_counter() - t0:.1f} s total")
    return 0


if __name__ == "__main__":
    sys.exit(main())
