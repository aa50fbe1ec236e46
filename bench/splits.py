"""The default config on other splits of the same real photos (issue #25: is the aim met beyond one split?).

    XMR_BENCH_THREADS=1 PYTHONPATH=. python bench/splits.py            # 8 splits × seeds 0, 1, 2 (~2 min)

bench/ablation_real.py splits the tuxpaint photos by a hash of their path (40 % train, 10 % validation, 50 % test);
`XMR_ABLATION_SPLIT=NAME` salts the hash. Every decision about label queries in issue #25 was read off test photos of
the first four splits ("decided on": the default split and salts b, c, d): the training photos' vote in label queries
and its grid, the gate's margin for classifiers that start at the labels' text. Salts e, f, g, h were set aside
before any of those decisions and looked at once, with the code as it stands ("confirmed on"). For each split the
default config (adapter+mlgcn, `xmr train` with no `--config`) is trained with seeds 0, 1, 2 by the product's recipe
(cached like bench/ablation_real.py's runs) and served as a library would (`Checkpoint.space()`); columns as the
never-worse table (mAP i→t / t→i, P@5 of label queries, top-3, deepest folder in the top 3). Rows: the untrained
backbone; the checkpoint as served; and "label queries as before" (session 7's rule: classifier + ¼ text when that
beat text by 0.02 validation mAP, no vote; only the P@5 column differs). Intervals: paired bootstrap over the test
photos / labels of each split (seed-averaged, 2,000 resamples), and over a group of splits the mean of split means,
resampled within each split.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import ablation_real
import numpy as np
from ablation_real import cpu_name, run_variant
from never_worse import COLUMNS, Split, values

DECIDED_ON = ("", "b", "c", "d")
CONFIRMED_ON = ("e", "f", "g", "h")
SEEDS = (0, 1, 2)
DEFAULT = ("adapter+mlgcn", [])
BEFORE = "label queries as before (session 7)"
SERVED = "default, as served"
UNTRAINED = "untrained backbone"


def split_rows(salt: str, encoder: Any) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, Any]]:
    """Seed-averaged per-query / per-photo values of each row on the split `salt`, and what the cards chose."""
    from xmr_gui.core.learn.checkpoint import classifiers_answer
    from xmr_gui.core.learn.dataset import compute_features
    from xmr_gui.core.learn.space import label_query_vectors
    from xmr_gui.core.search.label_query import label_scores

    ablation_real.SPLIT_SALT = salt
    data = ablation_real.build_data()
    feats = compute_features(data.ds, encoder)
    test = Split(data, feats, "test")
    q = np.nonzero(test.Y.sum(axis=0) >= 2)[0]
    typed = encoder.encode_texts(list(data.ds.label_names))
    rows: dict[str, list[dict[str, np.ndarray]]] = {
        UNTRAINED: [values(test.img, test.txt, test.img @ typed.T, test.img @ feats.label_inputs.T, test, q)]
    }
    chosen: dict[str, list[str]] = {}
    for seed in SEEDS:
        ckpt = run_variant(data, *DEFAULT, seed)["ckpt"]
        space = ckpt.space()
        zi, zt = space.images(test.img), space.texts(test.txt)
        served = values(zi, zt, label_scores(space, zi, typed), space.label_probabilities(zi), test, q)
        rows.setdefault(SERVED, []).append(served)
        measured = ckpt.card["metrics"]["label_queries_val"]
        old_gate = classifiers_answer({k: v for k, v in measured.items() if k != "served"})
        text = space.texts(typed)
        before = zi @ (label_query_vectors(space.classifiers, text) if old_gate else text).T
        rows.setdefault(BEFORE, []).append({**served, "p5": values(None, None, before, before, test, q)["p5"]})
        vote = ckpt.card["label_queries"]
        gate = "cls" if space.classifier_queries else "text"
        chosen.setdefault("vote", []).append(f"{vote['vote_weight']:g}/{vote['vote_beta']:g} {gate}")
    averaged = {
        name: {k: np.mean([r[k] for r in runs], axis=0) for k in runs[0] if k != "knob"} for name, runs in rows.items()
    }
    return averaged, {"test": len(test.Y), "labels": len(q), **{k: ", ".join(v) for k, v in chosen.items()}}


def pooled(diffs: list[np.ndarray], n: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean of the splits' mean differences and its 95 % interval, resampling within each split."""
    rng = np.random.default_rng(seed)
    ds = [d[~np.isnan(d)] for d in diffs]
    means = np.mean([d[rng.integers(0, len(d), (n, len(d)))].mean(axis=1) for d in ds], axis=0)
    return float(np.mean([d.mean() for d in ds])), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def main() -> int:
    import torch

    torch.set_num_threads(int(os.environ.get("XMR_BENCH_THREADS", "2")))
    from xmr_gui.core.models import offline_spec
    from xmr_gui.core.runtime.factory import load_encoder

    started = time.perf_counter()
    encoder = load_encoder(offline_spec(), "cpu")
    keys = [k for k, _ in COLUMNS]
    header = " | ".join(title for _, title in COLUMNS)
    per_split: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    print(f"| split | test photos / labels | vote w/β, gate per seed | row | {header} |")
    print("|---|---|---|---|" + "---|" * len(COLUMNS))
    for salt in (*DECIDED_ON, *CONFIRMED_ON):
        rows, info = split_rows(salt, encoder)
        per_split[salt] = rows
        name = salt or "default"
        for row in (UNTRAINED, SERVED, BEFORE):
            cells = []
            for k in keys:
                v = float(np.nanmean(rows[row][k]))
                if row == UNTRAINED:
                    cells.append(f"{v:.3f}")
                else:
                    d = rows[row][k] - rows[UNTRAINED][k]
                    cells.append(f"{v:.3f} ({float(np.nanmean(d)):+.3f})")
            lead = f"| {name} | {info['test']} / {info['labels']} | {info['vote']} | {row} | "
            print(lead + " | ".join(cells) + " |")
        print(f"  split {name} done, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print("\nPooled (mean of the splits' means; 95 % interval resampled within each split):\n")
    print(f"| splits | comparison | {header} |")
    print("|---|---|" + "---|" * len(COLUMNS))
    for group, salts in (
        ("decided on (default, b, c, d)", DECIDED_ON),
        ("confirmed on (e, f, g, h)", CONFIRMED_ON),
        ("all 8", (*DECIDED_ON, *CONFIRMED_ON)),
    ):
        for a, b in ((SERVED, UNTRAINED), (SERVED, BEFORE)):
            cells = []
            for k in keys:
                m, lo, hi = pooled([per_split[s][a][k] - per_split[s][b][k] for s in salts])
                cells.append(f"{m:+.3f} [{lo:+.3f}, {hi:+.3f}]")
            print(f"| {group} | {a} − {b} | " + " | ".join(cells) + " |")
    print(f"\nCPU {cpu_name()}; {time.perf_counter() - started:.0f} s; {time.strftime('%Y-%m-%d')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
