"""Near-duplicates on planted copies among real photos (issue #26 item 5): precision and recall of `xmr duplicates`.

    python bench/duplicates.py [--originals 40] [--seed 0]

Photos: Debian's tuxpaint-stamps-default photo cut-outs (GPL: fetched by bench/offline_model.py's `tuxpaint_root`,
never committed; cartoon/ and symbols/ left out) flattened on white, plus scikit-image's sample photographs. Of
those, `--originals` are copied with one or two edits each: resized to half, recompressed at JPEG quality 35,
cropped by 6 % on each side, turned by 90°, or turned and recompressed. Every other photo stays as it is, so the
many close photos of the same kind (birds, cats, flowers) are the negatives that must not group.
The library is indexed with the offline model (imagenet-minilm lite0, fp32) through the product's front door, then
`search.duplicates.find_duplicates` runs at each vector threshold and thumbnail correlation. Precision and recall
count pairs: a true pair is two photos from the same original (the original and a copy, or two copies). The pairs
found that are not planted are printed: the source data has duplicates of its own (the same stamp in two folders).
"""

from __future__ import annotations

import argparse
import itertools
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

EDITS = ("half", "jpeg35", "crop6", "rot90", "rot90+jpeg")


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration, subprocess.CalledProcessError):
        return platform.processor() or platform.machine()


def flat(path: Path) -> Image.Image:
    with Image.open(path) as im:
        im = im.convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, im).convert("RGB")


def edit(im: Image.Image, how: str, out: Path) -> None:
    if how == "half":
        im.resize((max(im.width // 2, 8), max(im.height // 2, 8)), Image.Resampling.LANCZOS).save(out, quality=92)
    elif how == "jpeg35":
        im.save(out, quality=35)
    elif how == "crop6":
        dx, dy = int(im.width * 0.06), int(im.height * 0.06)
        im.crop((dx, dy, im.width - dx, im.height - dy)).save(out, quality=92)
    elif how == "rot90":
        im.rotate(90, expand=True).save(out, quality=92)
    else:
        im.rotate(90, expand=True).save(out, quality=35)


def plant(folder: Path, originals: int, seed: int) -> tuple[list[Path], set[frozenset[str]]]:
    from offline_model import tuxpaint_collection  # bench helper: fetches the stamps when absent

    sources = list(tuxpaint_collection().paths)
    try:
        import skimage

        sources += sorted(Path(skimage.__file__).parent.joinpath("data").glob("*.png"))
    except ImportError:
        pass
    rng = random.Random(seed)
    chosen = set(rng.sample(range(len(sources)), originals))
    families: list[list[str]] = []
    written = []
    for n, src in enumerate(sources):
        try:
            im = flat(src)
        except OSError:
            continue
        if min(im.size) < 32:
            continue
        out = folder / f"p{n:04d}_{src.stem[:24]}.jpg"
        im.save(out, quality=92)
        written.append(out)
        if n in chosen:
            family = [str(out)]
            for k, how in enumerate(rng.sample(EDITS, rng.choice((1, 2)))):
                copy = folder / f"p{n:04d}_{src.stem[:24]}_copy{k}_{how.replace('+', '_')}.jpg"
                edit(im, how, copy)
                family.append(str(copy))
            families.append(family)
    truth = {frozenset(p) for fam in families for p in itertools.combinations(fam, 2)}
    return written, truth


def score(groups: list, truth: set[frozenset[str]]) -> tuple[float, float, int]:
    predicted = {frozenset(p) for g in groups for p in itertools.combinations(g.paths, 2)}
    hit = len(predicted & truth)
    precision = hit / len(predicted) if predicted else 1.0
    return precision, hit / len(truth), len(predicted)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--originals", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", metavar="DIR", help="also copy the planted photos (not the library) to DIR")
    args = ap.parse_args()

    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.models import ModelWish, offline_spec
    from xmr_gui.core.opening import OpenRequest, open_folder
    from xmr_gui.core.runtime.spec import Precision
    from xmr_gui.core.search.duplicates import find_duplicates

    with tempfile.TemporaryDirectory(prefix="xmr-dups-") as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        written, truth = plant(folder, args.originals, args.seed)
        if args.keep:  # the same planted folder and library for another run (a copy: the temporary one goes)
            import shutil

            shutil.copytree(tmp, args.keep, dirs_exist_ok=True)
        photos = len(list(folder.iterdir()))
        request = OpenRequest(folder, ModelWish(spec=offline_spec()), db=Path(tmp) / "db", precision=Precision.FP32)
        with open_folder(request) as opened:
            lib = opened.library
            index_folder(lib, folder)
            print(
                f"CPU: {cpu_name()}; {photos} photos ({len(written)} real, {photos - len(written)} planted copies "
                f"of {args.originals} originals), {len(truth)} true pairs; model {lib.spec.describe()}"
            )
            print("| vector threshold | thumbnail correlation | precision (planted) | recall | pairs | seconds |")
            print("|---|---|---|---|---|---|")
            for threshold in (0.8, 0.85, 0.9, 0.95):
                for corr in (0.9, 0.95, 0.97, 0.98):
                    started = time.perf_counter()
                    groups = find_duplicates(lib, threshold, corr)
                    seconds = time.perf_counter() - started
                    p, r, n = score(groups, truth)
                    print(f"| {threshold} | {corr} | {p:.3f} | {r:.3f} | {n} | {seconds:.1f} |")
            groups = find_duplicates(lib, 0.85, -1.0)  # no check of the pictures: what the check adds
            p, r, n = score(groups, truth)
            print(f"| 0.85 | no check | {p:.3f} | {r:.3f} | {n} | - |")
            groups = find_duplicates(lib)
            found = {frozenset(p) for g in groups for p in itertools.combinations(g.paths, 2)}
            print("\nrecall by edit, at the defaults:")
            for how in EDITS:
                tag = "_" + how.replace("+", "_") + ".jpg"
                mine = {t for t in truth if any(x.endswith(tag) for x in t)}
                print(f"  {how}: {len(mine & found)}/{len(mine)}")
            print("pairs found at the defaults that were not planted:")
            for pair in sorted(found - truth, key=sorted):
                print("  " + "  ~  ".join(Path(x).name for x in sorted(pair)))


if __name__ == "__main__":
    main()
