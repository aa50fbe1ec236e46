"""Ways to let the labelled training photos help a label query, compared on the splits they were decided on (issue #25).

    XMR_BENCH_THREADS=1 PYTHONPATH=. python bench/label_query_vote.py            # bench/splits.py's "decided on"

From the default config's cached checkpoints (bench/ablation_real.py's runs; adapter+mlgcn, seeds 0, 1, 2) on the
splits bench/splits.py calls "decided on" (default, b, c, d), a one-label query's scores over the test photos are
its cosine with the query vector (classifier + ¼ text, `space.label_query_vectors`) plus w × a term from the training
photos, with (w, β) chosen per seed on the validation photos by label-query mAP (`cache.label_query_ap`):
  * product: the label's share of the affinity-weighted vote exp(−β(1 − cos)) (`LabelCache.lift`), the suggestions'
    grid w ∈ {0, ¼, ½, ¾}, β ∈ {1, 5.5, 20} (what `xmr train` now chooses, `cache.choose_query_vote`);
  * β up to 50: the same with β 50 added;
  * chosen on train+val: the same grid chosen on the training photos (each one's own vote left out) and validation
    photos together, as the suggestion thresholds are calibrated;
  * affinity sum: Σ affinity over the label's photos, not normalised by all photos' affinity (w ∈ {0, .05, .1, .25,
    .5}, β ∈ {5.5, 20, 50});
  * prototype: the label's mean training vector added to the query vector (p ∈ {0, ¼, ½, ¾, 1, 1.5, 2}), one vector;
  * none: the cosine alone (session 7's query, without its gate).
No gate is applied here (every row answers by the classifiers). P@5 of the labels with ≥ 2 test photos, minus the
untrained backbone's, per split (seed-averaged) and their mean. Not a confirmation: these are the splits the
product's choice was made on; bench/splits.py has the splits it was confirmed on.
"""

from __future__ import annotations

import os
import sys
import time

import ablation_real
import numpy as np
from ablation_real import cpu_name, precision_at, run_variant, unit
from never_worse import Split
from splits import DECIDED_ON

VARIANTS = {
    "product (share, w ≤ ¾, β ≤ 20)": {"W": (0, 0.25, 0.5, 0.75), "B": (1, 5.5, 20), "kind": "share", "on": "val"},
    "β up to 50": {"W": (0, 0.25, 0.5, 0.75), "B": (1, 5.5, 20, 50), "kind": "share", "on": "val"},
    "chosen on train+val": {"W": (0, 0.25, 0.5, 0.75), "B": (1, 5.5, 20), "kind": "share", "on": "train+val"},
    "affinity sum": {"W": (0, 0.05, 0.1, 0.25, 0.5), "B": (5.5, 20, 50), "kind": "sum", "on": "val"},
    "prototype": {"W": (0, 0.25, 0.5, 0.75, 1, 1.5, 2), "B": (1,), "kind": "prototype", "on": "val"},
    "none": {"W": (0,), "B": (1,), "kind": "share", "on": "val"},
}


def term(z: np.ndarray, keys: np.ndarray, labels: np.ndarray, beta: float, kind: str, own: bool = False) -> np.ndarray:
    """(n, C) what the training photos add to each label's score for photos z; own: z are the keys (left out)."""
    if kind == "prototype":
        return z @ unit(labels.T @ keys).T
    affinity = np.exp(-beta * (1.0 - z @ keys.T))
    if own:
        np.fill_diagonal(affinity, 0.0)
    if kind == "sum":
        return affinity @ labels
    return affinity @ labels / np.maximum(affinity.sum(axis=1, keepdims=True), 1e-12)


def main() -> int:
    import torch

    torch.set_num_threads(int(os.environ.get("XMR_BENCH_THREADS", "2")))
    from xmr_gui.core.learn.cache import label_query_ap
    from xmr_gui.core.learn.dataset import compute_features
    from xmr_gui.core.learn.serving import cache_keys
    from xmr_gui.core.learn.space import label_query_vectors
    from xmr_gui.core.models import offline_spec
    from xmr_gui.core.runtime.factory import load_encoder

    started = time.perf_counter()
    encoder = load_encoder(offline_spec(), "cpu")
    found: dict[str, dict[str, list[float]]] = {}
    chosen: dict[str, dict[str, list[str]]] = {}
    for salt in DECIDED_ON:
        ablation_real.SPLIT_SALT = salt
        data = ablation_real.build_data()
        feats = compute_features(data.ds, encoder)
        train, val, test = (Split(data, feats, s) for s in ("train", "val", "test"))
        q = np.nonzero(test.Y.sum(axis=0) >= 2)[0]
        typed = encoder.encode_texts(list(data.ds.label_names))
        p0 = precision_at((test.img @ typed.T)[:, q].T, test.Y[:, q].T > 0).mean()
        for seed in (0, 1, 2):
            space = run_variant(data, "adapter+mlgcn", [], seed)["ckpt"].space(with_cache=False)
            keys = space.images(cache_keys(train.img))
            zv, zt = space.images(val.img), space.images(test.img)
            query = label_query_vectors(space.classifiers, space.texts(typed))
            for name, v in VARIANTS.items():
                best = (-1.0, 0.0, 1.0)
                for beta in v["B"]:
                    if v["on"] == "val":
                        extra, direct, truth = term(zv, keys, train.Y, beta, v["kind"]), zv @ query.T, val.Y
                    else:
                        own = term(keys, keys, train.Y, beta, v["kind"], own=True)
                        extra = np.vstack([own, term(zv, keys, train.Y, beta, v["kind"])])
                        direct, truth = np.vstack([keys, zv]) @ query.T, np.vstack([train.Y, val.Y])
                    for w in v["W"]:
                        score = label_query_ap(direct + w * extra, truth)
                        if score > best[0] + 1e-12:  # ties: the smaller w, the first β
                            best = (score, w, beta)
                _, w, beta = best
                scores = zt @ query.T + w * term(zt, keys, train.Y, beta, v["kind"])
                p5 = precision_at(scores[:, q].T, test.Y[:, q].T > 0).mean()
                found.setdefault(name, {}).setdefault(salt or "default", []).append(float(p5 - p0))
                chosen.setdefault(name, {}).setdefault(salt or "default", []).append(f"{w:g}/{beta:g}")
        print(f"  split {salt or 'default'} done, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    splits = [s or "default" for s in DECIDED_ON]
    print("| way (w/β chosen per seed, default split) | " + " | ".join(splits) + " | mean − untrained |")
    print("|---|" + "---|" * (len(splits) + 1))
    for name, per in found.items():
        cells = [f"{np.mean(per[s]):+.3f}" for s in splits]
        mean = np.mean([np.mean(per[s]) for s in splits])
        print(f"| {name} ({', '.join(chosen[name]['default'])}) | " + " | ".join(cells) + f" | {mean:+.3f} |")
    print(f"\nCPU {cpu_name()}; {time.perf_counter() - started:.0f} s; {time.strftime('%Y-%m-%d')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
