"""Label queries on a demo world: precision@10 of each label as a one-word query, per way of building the query.

    .venv/bin/python bench/label_queries.py --world /tmp/w1 --seed 1 [--checkpoint models/xmr-demo.xmr] [--near]

Draws the world (300 images) if the folder is missing, indexes it with the checkpoint (core API, as the tests do) and
prints, per variant, P@10 mean and min over the labels (relevant: the photo's labels in labels.jsonl contain the
label), the worst labels, then sentence queries ("X and Y", relevant: both labels; and the sentences the demo tests
ask) with text only vs text + w · classifiers. `--near` prints MiniLM's nearest label for near words and unrelated
ones (the NEAR threshold in xmr_gui/core/search/label_query.py).
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
from pathlib import Path

import numpy as np

SENTENCES = [  # tests/core/test_demo.py and the demo's example queries: (query, the label the top 5 should carry)
    ("a beach with sea and sand", "sand"),
    ("a city at night with the moon", "night"),
    ("snow and mountains", "snow"),
    ("a rainy street with rain and umbrellas", "rain"),
    ("a beach with a boat", "boat"),
    ("a dog in the forest", "dog"),
    ("snow in the mountains", "snow"),
    ("a city at night", "night"),
]
NEAR_WORDS = [  # should resolve to a label
    "doggy", "puppy", "puppies", "ocean", "seaside", "sunshine", "automobile", "cars", "lamps", "umbrellas", "flowers",
    "birds", "stars", "clouds", "cloudy", "rainy", "snowy", "trees", "forest", "lantern", "streetlight", "boats",
    "ship", "mountains", "hills", "houses", "home", "buildings", "skyscraper", "street", "pedestrian", "people",
    "man", "woman", "pond", "beach", "moonlight", "evening", "lawn", "blossom", "sparrow", "starry sky",
]  # fmt: skip
FAR_WORDS = [  # should not
    "cat", "pizza", "computer", "invoice", "birthday", "tax form", "guitar", "elephant", "keyboard", "banana",
    "airplane", "train", "bicycle", "horse", "chair", "book", "phone", "shoe", "castle", "fire", "desert", "fish",
    "bridge", "table", "clock", "spoon", "cake", "wedding", "football", "laptop",
]  # fmt: skip


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--world", required=True)
    ap.add_argument("--size", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--checkpoint", default=None, help="default: the shipped models/xmr-demo.xmr")
    ap.add_argument("--near", action="store_true", help="print MiniLM's nearest label for near and far words")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from xmr_gui.core.base.paths import shipped_demo_checkpoint
    from xmr_gui.core.demo.world import write_demo
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.learn.checkpoint import Checkpoint
    from xmr_gui.core.learn.space import LabelSpace
    from xmr_gui.core.search import label_query
    from xmr_gui.core.search.photos import search_text
    from xmr_gui.core.store.library import Library

    world = Path(args.world)
    if not (world / "labels.jsonl").is_file():
        write_demo(world, args.size, seed=args.seed)
    checkpoint = args.checkpoint or str(shipped_demo_checkpoint())
    rows = {str(world / r["file"]): set(r["labels"]) for r in map(json.loads, (world / "labels.jsonl").open())}
    db = Path(tempfile.mkdtemp(prefix="label-queries-"))
    lib = Library.create(db, world / "images", Checkpoint.load(checkpoint).backbone_spec())
    lib.attach_checkpoint(checkpoint)
    index_folder(lib, world / "images")
    space = lib.space
    assert isinstance(space, LabelSpace)
    paths = list(rows)
    ids = [lib.catalog.id_for_path(p) for p in paths]
    z = space.images(lib.catalog.vectors_for(ids, lib.dim))
    has = {label: np.array([label in rows[p] for p in paths]) for label in space.labels}

    def precision(v: np.ndarray, relevant: np.ndarray, k: int = 10) -> float:
        return float(relevant[np.argsort(-(z @ v), kind="stable")[:k]].mean())

    def text(q: str) -> np.ndarray:
        return space.texts(lib.encoder.encode_texts([q]))[0]

    classifiers = unit(space.classifiers)
    variants: dict[str, dict[str, float]] = {"text": {}, "classifier": {}, "search_text": {}}
    for w in (0.1, 0.25, 0.5, 1.0):
        variants[f"classifier+{w}*text"] = {}
    for i, label in enumerate(space.labels):
        t, c = text(label), classifiers[i]
        variants["text"][label] = precision(t, has[label])
        variants["classifier"][label] = precision(c, has[label])
        for w in (0.1, 0.25, 0.5, 1.0):
            variants[f"classifier+{w}*text"][label] = precision(unit(c + w * t), has[label])
        hits = search_text(lib, label, k=10)
        variants["search_text"][label] = float(np.mean([label in rows[h.path] for h in hits]))
    summary = {}
    for name, per in variants.items():
        worst = sorted(per.items(), key=lambda kv: kv[1])[:4]
        summary[name] = {"mean": float(np.mean(list(per.values()))), "min": min(per.values()), "worst": worst}
        print(f"{name:22s} P@10 mean {summary[name]['mean']:.3f} min {summary[name]['min']:.2f}  worst {worst}")

    # Sentences: text only vs text + w · the named labels' classifiers.
    counts = {(a, b): int((has[a] & has[b]).sum()) for a, b in itertools.combinations(space.labels, 2)}
    pairs = [pair for pair, n in counts.items() if n >= 10]
    index = {name: i for i, name in enumerate(space.labels)}
    for w in (0.0, 0.5, 1.0, 2.0):
        pair_p = [precision(unit(text(f"{a} and {b}") + w * (classifiers[index[a]] + classifiers[index[b]])),
                            has[a] & has[b]) for a, b in pairs]  # fmt: skip
        sent_p = []
        for query, label in SENTENCES:
            named = label_query.name_labels(space.labels, query)
            extra = classifiers[list(named.labels)].sum(0) if named else 0.0
            sent_p.append(precision(unit(text(query) + w * extra), has[label], k=5))
        summary[f"sentences w={w}"] = {"pairs_mean": float(np.mean(pair_p)), "tests_p5": sent_p}
        print(
            f"text + {w}*classifiers: 'X and Y' ({len(pairs)} pairs, both labels) P@10 {np.mean(pair_p):.3f}; "
            f"demo sentences P@5 {' '.join(f'{p:.1f}' for p in sent_p)} (min {min(sent_p):.1f})"
        )
    if args.near:
        judge = label_query._judge(tuple(space.labels))
        assert judge is not None, "MiniLM (the offline model) cannot be loaded here"
        for group, words in (("near", NEAR_WORDS), ("far", FAR_WORDS)):
            for word in words:
                best, sim = label_query._nearest(tuple(space.labels), word)
                print(f"{group:4s} {word:12s} → {space.labels[best]:9s} {sim:.3f}")
    if args.json:
        print(json.dumps(summary))
    lib.close()


if __name__ == "__main__":
    main()
