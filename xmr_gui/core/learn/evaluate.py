"""Retrieval metrics of the field: mAP@all with "relevant = shares ≥ 1 label", and R@K for paired captions."""

from __future__ import annotations

import numpy as np


def mean_average_precision(queries: np.ndarray, items: np.ndarray, q_labels: np.ndarray, i_labels: np.ndarray) -> float:
    """mAP over the whole retrieval set; queries with no relevant item are left out (as is standard)."""
    sim = queries @ items.T
    order = np.argsort(-sim, axis=1, kind="stable")
    relevant = ((q_labels @ i_labels.T) > 0)[np.arange(len(queries))[:, None], order]
    hits = np.cumsum(relevant, axis=1)
    precision = hits / np.arange(1, relevant.shape[1] + 1)[None, :]
    n_rel = relevant.sum(axis=1)
    ap = (precision * relevant).sum(axis=1) / np.maximum(n_rel, 1)
    keep = n_rel > 0
    return float(ap[keep].mean()) if keep.any() else 0.0


def recall_at_k(queries: np.ndarray, items: np.ndarray, ks: tuple[int, ...] = (1, 5, 10)) -> dict[int, float]:
    """Row i of `queries` is paired with row i of `items`: the share of queries whose pair is in the top k."""
    sim = queries @ items.T
    rank = (sim > np.diag(sim)[:, None]).sum(axis=1)  # how many items beat the true pair
    return {k: float((rank < k).mean()) for k in ks}


def retrieval_report(img: np.ndarray, txt: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """mAP i→t / t→i / average and R@1/5/10 both ways, on paired, labelled embeddings."""
    i2t = mean_average_precision(img, txt, labels, labels)
    t2i = mean_average_precision(txt, img, labels, labels)
    out = {"map_i2t": i2t, "map_t2i": t2i, "map_avg": (i2t + t2i) / 2}
    for name, (q, r) in {"i2t": (img, txt), "t2i": (txt, img)}.items():
        for k, v in recall_at_k(q, r).items():
            out[f"r{k}_{name}"] = v
    return out
