"""Labels to review on real photos with planted mistakes (issue #25 item 6): precision and recall of
`xmr review-labels`' "missing" and "doubtful" findings.

    python bench/review_labels.py [--seed 0] [--drop 0.1] [--wrong 0.05] [--neighbours 10]

Photos: Debian's tuxpaint-stamps-default cut-outs (GPL: fetched by bench/offline_model.py, never committed),
flattened on white; each gets an XMP sidecar with its folder path as keywords (`animals/birds/owl.png` -> animals,
birds), as a user's Lightroom keywords would be. Then mistakes are planted: `--drop` of the photos lose their
deepest keyword (a missing keyword), `--wrong` get the deepest keyword of a photo from another top folder (a wrong
one). The folder is indexed with the offline model (imagenet-minilm lite0, fp32) and `search.review.review` runs
without a checkpoint (the neighbours decide alone). A "missing" finding is right when it names a dropped keyword;
a "doubtful" one when it names a planted wrong keyword.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--drop", type=float, default=0.1)
    ap.add_argument("--wrong", type=float, default=0.05)
    ap.add_argument("--neighbours", type=int, default=10)
    args = ap.parse_args()

    from duplicates import cpu_name, flat
    from offline_model import tuxpaint_collection

    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.learn.keywords import write_sidecar
    from xmr_gui.core.models import ModelWish, offline_spec
    from xmr_gui.core.opening import OpenRequest, open_folder
    from xmr_gui.core.runtime.spec import Precision
    from xmr_gui.core.search.review import review

    rng = random.Random(args.seed)
    collection = tuxpaint_collection()
    with tempfile.TemporaryDirectory(prefix="xmr-review-") as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        kept: list[tuple[Path, list[str]]] = []
        for n, (src, labels) in enumerate(zip(collection.paths, collection.folders, strict=True)):
            if not labels:
                continue
            out = folder / f"p{n:04d}.jpg"
            flat(src).save(out, quality=90)
            kept.append((out, list(labels)))
        dropped: set[tuple[str, str]] = set()
        wrong: set[tuple[str, str]] = set()
        for path, labels in kept:
            keywords = list(labels)
            roll = rng.random()
            if roll < args.drop and len(keywords) > 1:
                dropped.add((str(path), keywords.pop()))
            elif roll < args.drop + args.wrong:
                other = rng.choice([ls for _, ls in kept if ls[0] != labels[0]])
                keywords.append(other[-1])
                wrong.add((str(path), other[-1]))
            write_sidecar(path, keywords)
        request = OpenRequest(folder, ModelWish(spec=offline_spec()), db=Path(tmp) / "db", precision=Precision.FP32)
        with open_folder(request) as opened:
            index_folder(opened.library, folder)
            findings = review(opened.library, args.neighbours)
    print(
        f"CPU: {cpu_name()}; {len(kept)} photos, {len(dropped)} keywords dropped, {len(wrong)} wrong keywords "
        f"planted (seed {args.seed}); {args.neighbours} neighbours; model imagenet-minilm lite0"
    )
    print("| finding | found | right | precision | recall |")
    print("|---|---|---|---|---|")
    for kind, planted in (("missing", dropped), ("doubtful", wrong)):
        found = {(f.subject, f.label.casefold()) for f in findings if f.kind == kind}
        truth = {(p, label.casefold()) for p, label in planted}
        right = len(found & truth)
        precision = right / len(found) if found else float("nan")
        print(f"| {kind} | {len(found)} | {right} | {precision:.2f} | {right / len(truth):.2f} |")
    merges = [f for f in findings if f.kind == "merge"]
    print(f"merge suggestions: {len(merges)} " + "; ".join(f"{f.subject} ~ {f.label}" for f in merges[:8]))


if __name__ == "__main__":
    main()
