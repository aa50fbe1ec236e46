"""Vectors with a real model's structure for bench/scale_bench.py: captions → the offline text tower → a fitted mixture.

Real part: generated captions ("a wet red fox sleeping on a beach at dawn": objects from ImageNet's 1,000 class names
and xmr's photo vocabulary, Zipf-distributed like a photo library, × attributes × actions × places × times), encoded
by imagenet-minilm's MiniLM text tower (ONNX, offline) into its 384-d space — the space the offline model's photos
live in. MiniLM runs at ~280 captions/s on 2 busy cores, so 1M captions would take an hour: larger sets are drawn
from a Gaussian mixture fitted to the real vectors instead (k-means clusters, each with its full covariance: the
clusters' sizes, centres and within-cluster shape are the real ones), then normalised to unit length like every
xmr vector. `structure` checks that neither is i.i.d.-like: the exact 10-NN similarities against random directions.

Everything is cached as .npy under $XMR_SCALE_CACHE (default /tmp/xmr-scale).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "xmr_gui" / "data"
CACHE = Path(os.environ.get("XMR_SCALE_CACHE", "/tmp/xmr-scale"))

ATTRIBUTES = (
    "red blue green yellow white black brown grey orange pink purple golden silver small large tiny huge old young "
    "new rusty wet dry fluffy shiny striped spotted wooden broken sleepy happy blurry colourful dark bright"
).split()
ACTIONS = [
    "", "sleeping", "running", "sitting", "standing", "jumping", "eating", "swimming", "flying", "lying", "playing",
    "resting", "walking", "hiding", "waiting", "parked", "floating", "hanging", "drying", "glowing",
]  # fmt: skip
PLACES = [
    "on a beach", "in a garden", "in the snow", "on a table", "in a kitchen", "by a river", "in a forest",
    "on a city street", "in a field", "at the zoo", "in a park", "on a mountain", "near a lake", "in a living room",
    "on a boat", "in the desert", "at a market", "on a farm", "in a museum", "on the grass", "under a tree",
    "in a shop window", "on a bridge", "at the harbour", "in the rain", "on a rooftop", "in a classroom",
    "at a wedding", "at a birthday party", "in an office", "on a train", "in a backyard", "by the sea",
    "in a church", "at a campsite", "on a balcony", "in a greenhouse", "at a playground", "in a barn", "on ice",
]  # fmt: skip
TIMES = ["", "at dawn", "at sunset", "at night", "in winter", "in summer", "on a foggy morning", "in autumn"]
TEMPLATES = [
    "a {a} {o} {v} {p} {t}",
    "a photo of a {a} {o} {p}",
    "close-up of a {o} {v} {p} {t}",
    "two {a} {o}s {v} {p}",
    "my {o} {p} {t}",
    "a {a} {o} and a {o2} {p}",
]


def objects() -> list[str]:
    """ImageNet's class names (CLIP's list) and xmr's built-in photo vocabulary."""
    names = []
    for line in (DATA / "imagenet_synonyms.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            names.append(line.split("\t")[2])
    for line in (DATA / "vocabulary.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            names.append(line)
    return sorted(set(names))


def captions(n: int, seed: int = 0) -> list[str]:
    """`n` distinct captions; objects drawn Zipf-like (a library has many dogs and few tench)."""
    rng = np.random.default_rng(seed)
    objs = objects()
    rng.shuffle(objs)  # type: ignore[arg-type]
    weights = 1.0 / np.arange(1, len(objs) + 1) ** 0.8
    weights /= weights.sum()
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        m = 4096
        o, o2 = rng.choice(len(objs), m, p=weights), rng.choice(len(objs), m, p=weights)
        a, v = rng.integers(len(ATTRIBUTES), size=m), rng.integers(len(ACTIONS), size=m)
        p, t, k = (
            rng.integers(len(PLACES), size=m),
            rng.integers(len(TIMES), size=m),
            rng.integers(len(TEMPLATES), size=m),
        )
        for i in range(m):
            text = TEMPLATES[k[i]].format(
                a=ATTRIBUTES[a[i]], o=objs[o[i]], o2=objs[o2[i]], v=ACTIONS[v[i]], p=PLACES[p[i]], t=TIMES[t[i]]
            )
            text = " ".join(text.split())
            if text not in seen:
                seen.add(text)
                out.append(text)
                if len(out) == n:
                    break
    return out


def real_vectors(n: int) -> np.ndarray:
    """(n, 384) unit vectors: the offline model's text tower on `n` generated captions (cached)."""
    path = CACHE / f"real-{n}.npy"
    if path.exists():
        return np.load(path)
    from xmr_gui.core.runtime.factory import load_encoder
    from xmr_gui.core.runtime.spec import ModelSpec

    encoder = load_encoder(ModelSpec.parse("imagenet-minilm", "lite0"), "cpu")
    texts = captions(n)
    parts, t0 = [], time.perf_counter()
    for i in range(0, n, 256):
        parts.append(encoder.encode_texts(texts[i : i + 256]))
        if i % 10240 == 0:
            rate = (i + 256) / (time.perf_counter() - t0)
            print(f"  encoded {i + 256}/{n} captions, {rate:.0f}/s", file=sys.stderr, flush=True)
    out = np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)
    print(f"  {n} captions in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def fit_mixture(x: np.ndarray, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weights (k,), means (k, d), covariance factors (k, d, d)): k-means clusters, each with its full covariance.

    Hand-written from sklearn's k-means because sklearn's GaussianMixture(covariance_type="full") runs EM with a
    Cholesky per component per step — hours for 384-d and a few hundred components on 2 cores; one hard assignment
    keeps what matters here, the clusters and their within-cluster shape."""
    from sklearn.cluster import MiniBatchKMeans

    labels = MiniBatchKMeans(k, random_state=seed, batch_size=4096, n_init=3).fit_predict(x)
    d = x.shape[1]
    weights, means, factors = np.zeros(k), np.zeros((k, d), np.float32), np.zeros((k, d, d), np.float32)
    for c in range(k):
        members = x[labels == c]
        weights[c] = len(members)
        if len(members) == 0:
            continue
        means[c] = members.mean(0)
        if len(members) > 1:
            cov = np.cov(members, rowvar=False)
            vals, vecs = np.linalg.eigh(cov)
            factors[c] = (vecs * np.sqrt(np.clip(vals, 0, None))).astype(np.float32)
    return weights / weights.sum(), means, factors


def mixture_vectors(n: int, fitted_on: np.ndarray, k: int = 512, seed: int = 1) -> np.ndarray:
    """(n, d) unit vectors sampled from the mixture fitted to `fitted_on` (cached by n, k and the fit set's size)."""
    path = CACHE / f"mixture-{len(fitted_on)}-k{k}-{n}-s{seed}.npy"
    if path.exists():
        return np.load(path)
    t0 = time.perf_counter()
    weights, means, factors = fit_mixture(fitted_on, k)
    rng = np.random.default_rng(seed)
    comp = rng.choice(k, n, p=weights)
    out = np.empty((n, fitted_on.shape[1]), np.float32)
    for c in np.unique(comp):
        rows = np.flatnonzero(comp == c)
        z = rng.standard_normal((len(rows), fitted_on.shape[1]), dtype=np.float32)
        out[rows] = means[c] + z @ factors[c].T
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    print(f"  mixture (k={k}) fitted and {n} sampled in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def random_vectors(n: int, d: int, seed: int = 2) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, d), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def structure(name: str, data: np.ndarray, queries: np.ndarray) -> str:
    """A markdown row: the cosine of each query's 1st and 10th exact neighbour, of a random member, and their gap
    in standard deviations of the random cosine (i.i.d. directions: ~2–4 σ, nothing stands out; clustered data: far
    more)."""
    q = queries[:500]
    s = q @ data.T
    top = -np.sort(-np.partition(s, s.shape[1] - 10, axis=1)[:, -10:], axis=1)
    mean, std = float(s.mean()), float(s.std())
    first, tenth = float(top[:, 0].mean()), float(top[:, 9].mean())
    return (
        f"| {name} | {len(data):,} | {first:.3f} | {tenth:.3f} | {mean:.3f} ± {std:.3f} | "
        f"{(first - mean) / std:.1f} σ | {(tenth - mean) / std:.1f} σ |"
    )
