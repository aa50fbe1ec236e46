"""Suggestion thresholds (issue #25 item 5): which way of choosing them makes `xmr suggest` right most often at
comparable recall, on the real-label ablation's photos (bench/ablation_real.py: tuxpaint stamps, folder labels).

    XMR_BENCH_THREADS=1 PYTHONPATH=. python bench/thresholds.py            # seeds 0, 1, 2; default config
    XMR_BENCH_THREADS=1 PYTHONPATH=. python bench/thresholds.py --all      # every config of bench/never_worse.py
    XMR_BENCH_THREADS=1 PYTHONPATH=. python bench/thresholds.py --splits   # default config, bench/splits.py's 8 splits

The checkpoints are bench/never_worse.py's cached runs (trained once by `recipes.train_checkpoint`; none is trained
here unless the cache lacks it). Each served as a library would (`Checkpoint.space()`: its blend and vote), its
suggestions (≤ 5 a photo, `calibrate.offered`) on the 209 test photos at thresholds calibrated for the card's
precision target (0.7) on:
  * "val": the 45 validation photos (what `xmr train` has);
  * "train+val": those plus the 176 training photos' scores, their vote leaving the photo itself out (leave-one-out;
    their classifier probabilities are in-sample: out-of-fold ones would need a training per fold).
Ways (learn/calibrate.py): one global threshold, each label's own (the card's "thresholds": < 3 positives → 0.5),
each label's own shrunk toward the global one by n / (n + m) with m chosen by 5-fold cross-validated F1 on the
calibration photos, each label's own only where it has ≥ N positives (N by the same cross-validation); and one global
0.5. Paired bootstrap over test photos (2,000 resamples; counts summed over seeds) against global 0.5.
`--splits`: the default config on each of bench/splits.py's splits of the same photos, one threshold for every label
against each label's own shrunk toward it (both calibrated on train+val, as `xmr train` writes them), then pooled:
the mean of the splits' differences, resampled within each split.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from ablation_real import build_data, cpu_name, run_variant
from never_worse import CONFIGS, Split

DEFAULT = "adapter+mlgcn"
GATES = (3, 5, 8, 12, 20, 40, 10**6)  # 10**6: no label has its own (the global one)


def served_scores(ckpt: Any, s: Split, leave_one_out: bool = False) -> np.ndarray:
    """The checkpoint's suggestion scores for a split's photos; leave_one_out (training photos, in the order of the
    card's cache keys): each photo's own vote left out."""
    space = ckpt.space()
    z = space.images(s.img)
    if not leave_one_out or space.cache is None:
        return np.asarray(space.label_probabilities(z))
    cache = space.cache
    p = ckpt.space(with_cache=False).label_probabilities(z)
    affinity = np.exp(-cache.beta * (1.0 - z @ cache.keys.T))
    assert affinity.shape[0] == affinity.shape[1], "the training photos are the cache's keys"
    np.fill_diagonal(affinity, 0.0)
    votes = affinity @ cache.labels / np.maximum(affinity.sum(axis=1, keepdims=True), 1e-12)
    return np.asarray((1 - cache.weight) * p + cache.weight * votes)


def ways(target: float) -> dict[str, Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, str]]]:
    from xmr_gui.core.learn import calibrate as cal
    from xmr_gui.core.learn.cache import thresholds

    def shrunk(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, str]:
        m, _ = cal.choose_pseudo_count(s, y, target)
        return cal.shrunk_thresholds(s, y, m, target), f"m {m:g}"

    def gated(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, str]:
        by = {n: cal.cross_validated(s, y, lambda a, b, n=n: cal.gated_thresholds(a, b, n, target)) for n in GATES}
        n = max(sorted(by, reverse=True), key=lambda n: by[n])
        return cal.gated_thresholds(s, y, n, target), f"N {n}"

    def glob(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, str]:
        t = cal.global_threshold(s, y, target)
        return np.full(s.shape[1], t, np.float32), f"t {t:.2f}"

    return {
        "global": glob,
        "per-label (the card's)": lambda s, y: (thresholds(s, y, 0.5, target), ""),
        "shrunk (a)": shrunk,
        "per-label if ≥ N positives (c)": gated,
    }


def counts(scores: np.ndarray, cuts: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """(n, 3) per test photo: suggestions right, made, true labels; and (2, C) per label right, made."""
    from xmr_gui.core.learn.calibrate import offered

    s = offered(scores, cuts)
    right = s & (Y > 0)
    return np.stack([right.sum(axis=1), s.sum(axis=1), (Y > 0).sum(axis=1)], axis=1).astype(float), np.stack(
        [right.sum(axis=0), s.sum(axis=0)]
    ).astype(float)


def prf(c: np.ndarray) -> np.ndarray:
    right, made, true = c[..., 0], c[..., 1], c[..., 2]
    return np.stack([right / np.maximum(made, 1), right / np.maximum(true, 1), 2 * right / (made + true)], axis=-1)


def bootstrap(a: np.ndarray, b: np.ndarray, n: int = 2000, seed: int = 0) -> list[tuple[float, float, float]]:
    """P, R, F1 of a − b (per-photo counts (n, 3)) with 95% intervals, resampling the test photos."""
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(a), (n, len(a)))
    d = prf(a[pick].sum(axis=1)) - prf(b[pick].sum(axis=1))
    mean = prf(a.sum(axis=0)) - prf(b.sum(axis=0))
    return [(float(mean[j]), *np.percentile(d[:, j], [2.5, 97.5]).tolist()) for j in range(3)]


def table(
    name: str, config: str, overrides: list[str], data: Any, feats: Any, seeds: list[int], show: bool = True
) -> dict[str, list[Any]]:
    from xmr_gui.core.learn.cache import PRECISION_TARGET

    train, val, test = (Split(data, feats, s) for s in ("train", "val", "test"))
    rows: dict[str, list[Any]] = {}
    for seed in seeds:
        ckpt = run_variant(data, config, overrides, seed)["ckpt"]
        target = float(ckpt.card["suggest"].get("precision_target", PRECISION_TARGET))
        s_val, s_test = served_scores(ckpt, val), served_scores(ckpt, test)
        s_train = served_scores(ckpt, train, leave_one_out=True)
        cal = {"val": (s_val, val.Y), "train+val": (np.vstack([s_train, s_val]), np.vstack([train.Y, val.Y]))}
        got = {"global 0.5": (np.full(s_test.shape[1], 0.5, np.float32), "")}
        for where, (s, y) in cal.items():
            for way, fn in ways(target).items():
                got[f"{way}, {where}"] = fn(s, y)
        for row, (cuts, note) in got.items():
            c, per = counts(s_test, cuts, test.Y)
            rows.setdefault(row, []).append((c, per, note))
        print(f"  {name} seed {seed} done", file=sys.stderr)
    if not show:
        return rows
    base = np.sum([c for c, _, _ in rows["global 0.5"]], axis=0)
    print(f"\n{name}, {len(test.Y)} test photos, seeds {seeds}, target {PRECISION_TARGET:g}:\n")
    print("| thresholds (calibrated on) | chosen per seed | P / R / F1 | labels ≥ 0.7 | ΔP vs 0.5 | ΔR | ΔF1 |")
    print("|---|---|---|---|---|---|---|")
    for row, vs in rows.items():
        c = np.sum([v[0] for v in vs], axis=0)
        per = np.sum([v[1] for v in vs], axis=0)
        asked = per[1] >= 3
        good = int((per[0][asked] / per[1][asked] >= PRECISION_TARGET).sum())
        p, r, f = prf(c.sum(axis=0))
        deltas = (
            ["–"] * 3
            if row == "global 0.5"
            else [f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]" for d, lo, hi in bootstrap(c, base)]
        )
        notes = "/".join(v[2] for v in vs) or "–"
        print(
            f"| {row} | {notes} | {p:.3f} / {r:.3f} / {f:.3f} | {good} of {int(asked.sum())} | "
            + " | ".join(deltas)
            + " |"
        )
    return rows


GLOBAL, SHRUNK = "global, train+val", "shrunk (a), train+val"


def over_splits(feats_of: Callable[[Any], Any], seeds: list[int]) -> None:
    """One threshold for every label against each label's own shrunk toward it, on every split of bench/splits.py."""
    import ablation_real
    from splits import CONFIRMED_ON, DECIDED_ON

    print(
        "| split | 0.5 P / R / F1 | global, train+val P / R / F1 | shrunk, train+val P / R / F1 | shrunk − global: "
        "ΔP | ΔR | ΔF1 |"
    )
    print("|---|---|---|---|---|---|---|")
    per_split = []
    for salt in (*DECIDED_ON, *CONFIRMED_ON):
        ablation_real.SPLIT_SALT = salt
        data = build_data()
        rows = table(DEFAULT, DEFAULT, [], data, feats_of(data), seeds, show=False)
        summed = {row: np.sum([v[0] for v in rows[row]], axis=0) for row in ("global 0.5", GLOBAL, SHRUNK)}
        per_split.append((summed[SHRUNK], summed[GLOBAL]))
        cells = ["{:.3f} / {:.3f} / {:.3f}".format(*prf(c.sum(axis=0))) for c in summed.values()]
        deltas = [f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]" for d, lo, hi in bootstrap(summed[SHRUNK], summed[GLOBAL])]
        print(f"| {salt or 'default'} | " + " | ".join(cells + deltas) + " |")
    rng = np.random.default_rng(0)
    draws = []
    for a, b in per_split:  # resampled within each split; the pooled figure is the mean of the splits' differences
        pick = rng.integers(0, len(a), (2000, len(a)))
        draws.append(prf(a[pick].sum(axis=1)) - prf(b[pick].sum(axis=1)))
    mean = np.mean([prf(a.sum(axis=0)) - prf(b.sum(axis=0)) for a, b in per_split], axis=0)
    lo, hi = np.percentile(np.mean(draws, axis=0), [2.5, 97.5], axis=0)
    cells = [f"{m:+.3f} [{a:+.3f}, {b:+.3f}]" for m, a, b in zip(mean, lo, hi, strict=True)]
    print(f"\npooled over {len(per_split)} splits, shrunk − global (train+val): ΔP | ΔR | ΔF1 = " + " | ".join(cells))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--all", action="store_true", help="every config of bench/never_worse.py, not only the default")
    p.add_argument("--splits", action="store_true", help="the default config on bench/splits.py's splits")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(int(os.environ.get("XMR_BENCH_THREADS", "2")))
    from xmr_gui.core.learn.dataset import compute_features
    from xmr_gui.core.models import offline_spec
    from xmr_gui.core.runtime.factory import load_encoder

    started = time.perf_counter()
    encoder = load_encoder(offline_spec(), "cpu")
    if args.splits:
        over_splits(lambda data: compute_features(data.ds, encoder), args.seeds)
        print(f"\nCPU {cpu_name()}; {time.perf_counter() - started:.0f} s; {time.strftime('%Y-%m-%d')}")
        return 0
    data = build_data()
    feats = compute_features(data.ds, encoder)
    for name, config, overrides in CONFIGS:
        if args.all or name == DEFAULT:
            table(name, config, overrides, data, feats, args.seeds)
    print(f"\nCPU {cpu_name()}; {time.perf_counter() - started:.0f} s; {time.strftime('%Y-%m-%d')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
