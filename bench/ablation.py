"""The paper-style ablation on the demo world's test split, every variant trained on the same cached features.

    python bench/ablation.py DATASET --backbone-from models/xmr-demo.xmr [--epochs 60]

Prints one table: zero-shot backbone, heads only, + GCN, + Circle-Soft (λ sweep), + adversarial (= L2-GCN),
USSL, BCLS, L2-GCN + BCLS: mAP@all i→t / t→i / avg and R@1/5/10 i→t.
"""

from __future__ import annotations

import argparse
import sys

VARIANTS = [
    ("heads only", {"use_gcn": False, "losses": {"inter": {"weight": 1.0}}}),
    ("+ GCN classifiers", {"losses": {"inter": {"weight": 1.0}, "multilabel": {"weight": 0.5}}}),
    *[
        (
            f"+ Circle-Soft λ={lam}",
            {"losses": {"circle_soft": {"weight": 1.0, "lam": lam}, "multilabel": {"weight": 0.5}}},
        )
        for lam in (0.0, 0.25, 0.5, 0.75, 1.0)
    ],
    ("+ adversarial (L2-GCN)", "l2gcn"),
    ("USSL losses", "ussl"),
    ("BCLS losses", "bcls"),
    ("L2-GCN + BCLS", "l2gcn+bcls"),
    ("L2-GCN + instance InfoNCE (shipped demo)", "demo"),
]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset")
    p.add_argument("--backbone-from", required=True, help="checkpoint whose backbone encodes the features")
    p.add_argument("--epochs", type=int, default=60)
    args = p.parse_args(argv)

    from xmr_gui.core.learn.checkpoint import Checkpoint
    from xmr_gui.core.learn.dataset import Dataset, compute_features
    from xmr_gui.core.learn.model import TrainConfig
    from xmr_gui.core.learn.serving import evaluate_split, zero_shot
    from xmr_gui.core.learn.train import train_space
    from xmr_gui.core.runtime.factory import load_encoder

    ds = Dataset.load(args.dataset)
    encoder = load_encoder(Checkpoint.load(args.backbone_from).backbone_spec(), "cpu")
    feats = compute_features(ds, encoder)
    cols = ("map_i2t", "map_t2i", "map_avg", "r1_i2t", "r5_i2t", "r10_i2t")
    print(
        f"dataset {args.dataset}: {len(ds.split('train'))} train / {len(ds.split('test'))} test, "
        f"backbone {encoder.identity}"
    )
    print("| variant | " + " | ".join(cols) + " | s/epoch |")
    print("|---" * (len(cols) + 2) + "|")
    z = zero_shot(ds, feats, "test")
    print("| zero-shot backbone | " + " | ".join(f"{z[c]:.4f}" for c in cols) + " | – |")
    for name, spec in VARIANTS:
        if isinstance(spec, str):
            cfg = TrainConfig.load(spec)
        else:
            cfg = TrainConfig(**{**TrainConfig().to_dict(), **spec})
        cfg.epochs = args.epochs
        result = train_space(ds, feats, cfg)
        m = evaluate_split(result.model, ds, feats, "test")
        sec = sum(h.seconds for h in result.history) / len(result.history)
        print(f"| {name} | " + " | ".join(f"{m[c]:.4f}" for c in cols) + f" | {sec:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
