"""Which text share should a label query get (issue #25: label queries ≥ untrained + 0.10)?

(A record of session 7's question: since then a label query also takes the labelled photos' vote and the gate
compares that with text — bench/splits.py. "today" below is the query without the vote; with cached runs from
ablation_real.py VERSION 7 its gate is the new one.)

    XMR_BENCH_THREADS=1 PYTHONPATH=. python bench/label_query_share.py     # seeds 0, 1, 2; the default config

`xmr search LABEL` answers a checkpoint's label with unit(classifier) + ¼ × its text vector (`space.LABEL_QUERY_TEXT`)
when the card's gate allows (`Checkpoint.classifier_queries`: that mix beats the text vector by 0.02 validation mAP),
else with the text vector. Here the share s in unit(classifier) + s × text is re-chosen for bench/never_worse.py's
cached default-config checkpoints (nothing retrained) on the 45 validation photos only (labels with ≥ 1 validation
photo), by label-query mAP (`train.label_query_map`, what the card's gate measures) or by P@5, over s ∈ {0, 0.1, …, 1}
(and, in "+ text", the text vector alone as one more option); ties go to the share nearest today's ¼. The choice is
measured on the 209 test photos (label-query P@5, labels with ≥ 2 test photos, as bench/ablation_real.py), with paired
bootstrap intervals (2,000 resamples over the labels, seed-averaged) against the untrained model and today's rule.
"""

from __future__ import annotations

import functools
import os
import sys
import time

import numpy as np
from ablation_real import bootstrap, build_data, cpu_name, precision_at, run_variant, unit
from never_worse import Split

DEFAULT: tuple[str, list[str]] = ("adapter+mlgcn", [])
SHARES = tuple(round(0.1 * i, 1) for i in range(11))
TEXT_ALONE = float("inf")


def query_vectors(classifiers: np.ndarray, text: np.ndarray, share: float) -> np.ndarray:
    """unit(unit(classifier) + share × text); share ∞: the text vector alone."""
    if share == TEXT_ALONE:
        return unit(text)
    return unit(unit(classifiers) + share * text)


def p5_each(cls: np.ndarray, text: np.ndarray, z: np.ndarray, y: np.ndarray, cols: np.ndarray, s: float) -> np.ndarray:
    """P@5 of each label in `cols` queried with share s over the photos z (labels y)."""
    return precision_at((z @ query_vectors(cls, text, s).T)[:, cols].T, y[:, cols].T > 0)


def mean_p5(cls: np.ndarray, text: np.ndarray, z: np.ndarray, y: np.ndarray, cols: np.ndarray, s: float) -> float:
    return float(p5_each(cls, text, z, y, cols, s).mean())


def mean_ap(cls: np.ndarray, text: np.ndarray, z: np.ndarray, y: np.ndarray, s: float) -> float:
    """Label-query mAP as the card's gate measures it (`train.label_query_map`; labels without a photo left out)."""
    from xmr_gui.core.learn.train import label_query_map

    return label_query_map(query_vectors(cls, text, s), z, y)


def choose(score, options: tuple[float, ...]) -> float:
    """The option with the best validation score; on ties the one nearest today's ¼."""
    scored = [(score(s), -abs(min(s, 10.0) - 0.25), s) for s in options]
    return max(scored)[2]


def main() -> int:
    import torch

    torch.set_num_threads(int(os.environ.get("XMR_BENCH_THREADS", "2")))
    from xmr_gui.core.learn.checkpoint import classifiers_answer
    from xmr_gui.core.learn.dataset import compute_features
    from xmr_gui.core.models import offline_spec
    from xmr_gui.core.runtime.factory import load_encoder

    started = time.perf_counter()
    data = build_data()
    encoder = load_encoder(offline_spec(), "cpu")
    feats = compute_features(data.ds, encoder)
    val, test = (Split(data, feats, s) for s in ("val", "test"))
    q = np.nonzero(test.Y.sum(axis=0) >= 2)[0]
    qv = np.nonzero(val.Y.sum(axis=0) >= 1)[0]
    typed = encoder.encode_texts(list(data.ds.label_names))
    p5_0 = precision_at((test.img @ typed.T)[:, q].T, test.Y[:, q].T > 0)
    print(f"{len(val.Y)} validation photos ({len(qv)} labels), {len(test.Y)} test photos ({len(q)} labels)")
    rows: dict[str, list[tuple[np.ndarray, str]]] = {}
    for seed in (0, 1, 2):
        ckpt = run_variant(data, *DEFAULT, seed)["ckpt"]
        space = ckpt.space(with_cache=False)
        zv, zt = space.images(val.img), space.images(test.img)
        text = space.texts(typed)

        val_ap = functools.partial(mean_ap, space.classifiers, text, zv, val.Y)
        val_p5 = functools.partial(mean_p5, space.classifiers, text, zv, val.Y, qv)
        test_p5 = functools.partial(p5_each, space.classifiers, text, zt, test.Y, q)

        card = (ckpt.card.get("metrics") or {}).get("label_queries_val")
        gate = space.classifier_queries
        print(f"  seed {seed}: card's val mAP {card}; gate open: {gate}", file=sys.stderr)
        for s in (*SHARES, TEXT_ALONE):
            print(
                f"    share {s:g}: val mAP {val_ap(s):.3f}, val P@5 {val_p5(s):.3f}, test P@5 {test_p5(s).mean():.3f}",
                file=sys.stderr,
            )
        rows.setdefault("today: ¼ + gate", []).append((test_p5(0.25 if gate else TEXT_ALONE), "¼" if gate else "text"))
        for s in (0.0, 0.25, 1.0, TEXT_ALONE):
            rows.setdefault(f"fixed {s:g}" if s != TEXT_ALONE else "text alone", []).append((test_p5(s), f"{s:g}"))
        for cname, score in (("mAP", val_ap), ("P@5", val_p5)):
            for gname, options in (("", SHARES), (" + text", (*SHARES, TEXT_ALONE))):
                s = choose(score, options)
                rows.setdefault(f"chosen by val {cname}{gname}", []).append((test_p5(s), f"{s:g}"))
                if not gname:  # the chosen share behind today's gate (re-measured at that share)
                    measured = {"combined": val_ap(s), "text": val_ap(TEXT_ALONE)}
                    s_g = s if classifiers_answer(measured) else TEXT_ALONE
                    rows.setdefault(f"chosen by val {cname} + gate", []).append((test_p5(s_g), f"{s_g:g}"))
    today = np.mean([v[0] for v in rows["today: ¼ + gate"]], axis=0)
    print(f"\nuntrained: P@5 {p5_0.mean():.3f}\n")
    print("| text share (how chosen) | per seed | P@5 | − untrained | − today (¼ + gate) |")
    print("|---|---|---|---|---|")
    print(f"| untrained backbone | – | {p5_0.mean():.3f} | – | – |")
    for name, vs in rows.items():
        p5 = np.mean([v[0] for v in vs], axis=0)
        cells = [f"{a:+.3f} [{b:+.3f}, {c:+.3f}]" for a, b, c in (bootstrap(p5, p5_0), bootstrap(p5, today))]
        print(f"| {name} | {', '.join(v[1] for v in vs)} | {p5.mean():.3f} | " + " | ".join(cells) + " |")
        print(
            f"    {name}: {p5.mean() - p5_0.mean():+.4f} vs untrained, {p5.mean() - today.mean():+.4f} vs today",
            file=sys.stderr,
        )
    print(f"\nCPU {cpu_name()}; {time.perf_counter() - started:.0f} s; {time.strftime('%Y-%m-%d')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
