"""Which validation criterion should choose the training photos' vote (issue #25: deepest-folder suggestions)?

    XMR_BENCH_THREADS=1 PYTHONPATH=. python bench/vote_criterion.py     # seeds 0, 1, 2; the default config

`xmr train` mixes its classifiers' probabilities with a Tip-Adapter-style vote of the training photos,
(1 − w) · p + w · vote, w and β chosen on the validation photos by `cache.label_ranking_ap` (learn/cache.py
`choose`). That criterion counts every true label of a photo alike, so the frequent parent folders (animals, ...)
it is easy to rank first reward a large w, and the photo's deepest folder falls out of its top 3. Here each criterion
below re-chooses (w, β) for bench/never_worse.py's cached default-config checkpoints (nothing retrained), on the 45
validation photos only, and the choice is measured on the 209 test photos (top-3, top-3 leaf), with paired bootstrap
intervals against the untrained model (2,000 resamples, seed-averaged). Label queries do not use the vote: their
P@5 is the checkpoint's whatever the criterion (printed once).

Criteria (none knows the folder tree; "frequency" is over the training photos' labels):
  * lrap: label_ranking_ap, the product's today.
  * idf-AP: per-photo AP where each true label counts by its inverse document frequency log(N / n_c).
  * rarest-RR: reciprocal rank of the photo's least frequent true label (its most specific).
  * macro-AP: mean over labels (≥ 1 validation photo) of the AP of ranking the photos by that label.
  * lrap+macro: the mean of lrap and macro-AP.
  * lrap+rarest: the mean of lrap and rarest-RR.
each on the product's grid (w ∈ {0, ¼, ½, ¾}, β ∈ {1, 5.5, 20}) and on a finer one (w 0 … 0.9 by 0.1).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

import numpy as np
from ablation_real import bootstrap, build_data, cpu_name, precision_at, run_variant, top3
from never_worse import Split

DEFAULT: tuple[str, list[str]] = ("adapter+mlgcn", [])
COARSE = ((0.0, 0.25, 0.5, 0.75), (1.0, 5.5, 20.0))
FINE = (tuple(round(0.1 * i, 1) for i in range(10)), (1.0, 5.5, 20.0))


def weighted_ap(scores: np.ndarray, labels: np.ndarray, weight: np.ndarray) -> float:
    """Per-photo AP with each true label's precision-at-its-rank weighted by `weight` (C,); mean over photos."""
    order = np.argsort(-scores, axis=1, kind="stable")
    relevant = np.take_along_axis(labels > 0, order, axis=1)
    precision = np.cumsum(relevant, axis=1) / np.arange(1, relevant.shape[1] + 1)
    w = weight[order] * relevant
    keep = w.sum(axis=1) > 0
    return float(((precision * w).sum(axis=1)[keep] / w.sum(axis=1)[keep]).mean())


def macro_ap(scores: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    cols = np.nonzero((labels > 0).any(axis=0))[0]
    return float(np.mean([average_precision_score(labels[:, c] > 0, scores[:, c]) for c in cols]))


def criteria(train_labels: np.ndarray) -> dict[str, Callable[[np.ndarray, np.ndarray], float]]:
    from xmr_gui.core.learn.cache import label_ranking_ap, rarest_reciprocal_rank, suggestion_quality

    n = (train_labels > 0).sum(axis=0).astype(float)
    idf = np.log(len(train_labels) / np.maximum(n, 1.0))  # a label no training photo has: as rare as one
    return {
        "lrap": label_ranking_ap,
        "idf-AP": lambda s, y: weighted_ap(s, y, idf),
        "rarest-RR": lambda s, y: rarest_reciprocal_rank(s, y, n),
        "macro-AP": macro_ap,
        "lrap+macro": lambda s, y: 0.5 * (label_ranking_ap(s, y) + macro_ap(s, y)),
        "lrap+rarest": lambda s, y: suggestion_quality(s, y, n),  # the product's own since this bench (cache.choose)
    }


def choose(p: np.ndarray, votes: dict[float, np.ndarray], y: np.ndarray, score, grid) -> tuple[float, float]:
    """(w, β) of the best criterion on validation; w = 0 wins ties, then the smaller w (as `cache.choose`)."""
    weights, betas = grid
    best = (score(p, y), 0.0, betas[0])
    for beta in betas:
        for w in weights[1:]:
            v = score((1 - w) * p + w * votes[beta], y)
            if v > best[0] + 1e-12:
                best = (v, w, beta)
    return best[1], best[2]


def main() -> int:
    import torch

    torch.set_num_threads(int(os.environ.get("XMR_BENCH_THREADS", "2")))
    from xmr_gui.core.learn.cache import vote_shares
    from xmr_gui.core.learn.dataset import compute_features
    from xmr_gui.core.learn.serving import cache_keys
    from xmr_gui.core.models import offline_spec
    from xmr_gui.core.runtime.factory import load_encoder
    from xmr_gui.core.search.label_query import label_scores

    started = time.perf_counter()
    data = build_data()
    encoder = load_encoder(offline_spec(), "cpu")
    feats = compute_features(data.ds, encoder)
    train, val, test = (Split(data, feats, s) for s in ("train", "val", "test"))
    q = np.nonzero(test.Y.sum(axis=0) >= 2)[0]
    typed = encoder.encode_texts(list(data.ds.label_names))
    hit0, leaf0 = top3(test.img @ feats.label_inputs.T, test.Y, test.leaf)
    p5_0 = precision_at((test.img @ typed.T)[:, q].T, test.Y[:, q].T > 0)
    crit = criteria(train.Y)
    seeds = [0, 1, 2]
    rows: dict[str, list[tuple[np.ndarray, np.ndarray, str]]] = {}
    p5s = []
    for seed in seeds:
        ckpt = run_variant(data, *DEFAULT, seed)["ckpt"]
        space = ckpt.space(with_cache=False)
        keys = space.images(cache_keys(train.img))
        zv, zt = space.images(val.img), space.images(test.img)
        pv, pt = space.label_probabilities(zv), space.label_probabilities(zt)
        served = ckpt.space()  # label queries as `xmr search LABEL` answers them (their own vote, when chosen)
        p5s.append(precision_at(label_scores(served, served.images(test.img), typed)[:, q].T, test.Y[:, q].T > 0))
        vv = {b: vote_shares(zv, keys, train.Y, b) for b in FINE[1]}
        vt = {b: vote_shares(zt, keys, train.Y, b) for b in FINE[1]}
        card = ckpt.card["suggest"]
        print(f"  seed {seed}: card w {card['cache_weight']:g} β {card.get('cache_beta')}", file=sys.stderr)
        rows.setdefault("vote off (classifiers alone)", []).append((*top3(pt, test.Y, test.leaf), "w 0"))
        for gname, grid in (("", COARSE), (", fine w", FINE)):
            for cname, score in crit.items():
                w, b = choose(pv, vv, val.Y, score, grid)
                s = pt if w == 0 else (1 - w) * pt + w * vt[b]
                rows.setdefault(cname + gname, []).append((*top3(s, test.Y, test.leaf), f"{w:g}/{b:g}"))
    p5 = np.mean(p5s, axis=0)
    d, lo, hi = bootstrap(p5, p5_0)
    print(
        f"\nlabel-query P@5 (not affected by the suggestions' vote): {p5.mean():.3f} vs untrained {p5_0.mean():.3f}: "
        f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]\n"
    )
    print(f"untrained: top-3 {hit0.mean():.3f}, top-3 leaf {leaf0.mean():.3f}; {len(test.Y)} test photos\n")
    print(
        "| criterion (grid) | w/β chosen per seed | top-3 | top-3 leaf | top-3 − untrained | leaf − untrained "
        "| top-3 − lrap | leaf − lrap |"
    )
    print("|---|---|---|---|---|---|---|---|")
    now = rows["lrap"]
    hit_now = np.mean([v[0] for v in now], axis=0).astype(float)
    leaf_now = np.mean([v[1] for v in now], axis=0).astype(float)
    for name, vs in rows.items():
        hit = np.mean([v[0] for v in vs], axis=0).astype(float)
        leaf = np.mean([v[1] for v in vs], axis=0).astype(float)
        cells = [
            f"{a:+.3f} [{b:+.3f}, {c:+.3f}]"
            for a, b, c in (
                bootstrap(hit, hit0.astype(float)),
                bootstrap(leaf, leaf0.astype(float)),
                bootstrap(hit, hit_now),
                bootstrap(leaf, leaf_now),
            )
        ]
        knobs = ", ".join(v[2] for v in vs)
        print(f"| {name} | {knobs} | {hit.mean():.3f} | {leaf.mean():.3f} | " + " | ".join(cells) + " |")
    print(f"\nCPU {cpu_name()}; {time.perf_counter() - started:.0f} s; {time.strftime('%Y-%m-%d')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
