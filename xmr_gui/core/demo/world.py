"""The demo world: procedurally drawn, deterministic scenes with multi-labels and captions.

Labels co-occur the way they do in real photos (beach: sea, sand, sun, boat; night: moon, stars, lamps; ...),
so a label graph learned from them has real structure. Written as a labelled dataset:
DIR/images/*.jpg and DIR/labels.jsonl with one {"file", "labels", "caption", "split"} per line.
"""

from __future__ import annotations

import json
import os
import random
from functools import partial
from pathlib import Path

from PIL import Image, ImageDraw

from ..base.files import atomic_write
from .painters import DRAW, SIZE, ground, jitter, paint_building, paint_sky

# "sky" is drawn in nearly every scene, so it is not a label (it would make every pair "relevant").
LABELS = (
    "night",
    "cloud",
    "sun",
    "moon",
    "stars",
    "rain",
    "sea",
    "sand",
    "lake",
    "boat",
    "mountain",
    "snow",
    "building",
    "house",
    "road",
    "car",
    "lamp",
    "person",
    "umbrella",
    "tree",
    "grass",
    "flower",
    "dog",
    "bird",
)
# scene → (weight, sky colour, {label: probability}); probability 1 labels always appear.
SCENES: dict[str, tuple[float, tuple[int, int, int], dict[str, float]]] = {
    "beach": (
        1.2,
        (110, 175, 235),
        {
            "sky": 1,
            "sea": 1,
            "sand": 1,
            "sun": 0.6,
            "cloud": 0.4,
            "boat": 0.5,
            "person": 0.4,
            "umbrella": 0.45,
            "bird": 0.3,
        },
    ),
    "night city": (
        1.0,
        (15, 20, 50),
        {"night": 1, "building": 1, "moon": 0.75, "stars": 0.8, "road": 0.6, "car": 0.45, "lamp": 0.7},
    ),
    "city street": (
        1.0,
        (140, 190, 230),
        {"sky": 1, "building": 1, "road": 0.85, "car": 0.7, "person": 0.6, "cloud": 0.5, "lamp": 0.35, "sun": 0.25},
    ),
    "forest": (
        1.0,
        (150, 200, 235),
        {"tree": 1, "grass": 0.9, "flower": 0.5, "dog": 0.3, "bird": 0.45, "sky": 0.8, "sun": 0.3},
    ),
    "winter": (
        0.9,
        (190, 205, 225),
        {"snow": 1, "sky": 1, "mountain": 0.7, "tree": 0.6, "person": 0.4, "house": 0.4, "cloud": 0.45},
    ),
    "countryside": (
        1.0,
        (125, 185, 240),
        {
            "grass": 1,
            "sky": 1,
            "house": 0.8,
            "tree": 0.6,
            "cloud": 0.6,
            "sun": 0.5,
            "dog": 0.4,
            "road": 0.35,
            "flower": 0.35,
        },
    ),
    "lake": (
        0.9,
        (120, 180, 230),
        {"lake": 1, "sky": 1, "mountain": 0.6, "tree": 0.6, "boat": 0.5, "cloud": 0.4, "bird": 0.35, "grass": 0.5},
    ),
    "rainy street": (
        0.8,
        (120, 125, 135),
        {"rain": 1, "cloud": 1, "sky": 1, "umbrella": 0.8, "person": 0.8, "road": 0.7, "building": 0.6, "car": 0.4},
    ),
}
# Drawing order: far to near.
ORDER = (
    "sky",
    "stars",
    "sun",
    "moon",
    "cloud",
    "mountain",
    "grass",
    "snow",
    "sea",
    "lake",
    "sand",
    "road",
    "building",
    "house",
    "tree",
    "flower",
    "lamp",
    "boat",
    "car",
    "dog",
    "person",
    "umbrella",
    "bird",
    "rain",
)


def sample_scene(rng: random.Random) -> tuple[str, list[str]]:
    names = list(SCENES)
    scene = rng.choices(names, weights=[SCENES[n][0] for n in names])[0]
    labels = [label for label, p in SCENES[scene][2].items() if rng.random() < p]
    return scene, [label for label in ("night", *ORDER) if label in labels and label in LABELS]


def draw_scene(scene: str, labels: list[str], rng: random.Random) -> Image.Image:
    im = Image.new("RGB", (SIZE, SIZE), (90, 90, 90))
    d = ImageDraw.Draw(im)
    paint_sky(d, rng, jitter(rng, SCENES[scene][1], 12))
    if "grass" not in labels and "snow" not in labels and "sand" not in labels and "lake" not in labels:
        ground((95, 95, 100) if scene.endswith("street") or scene == "night city" else (90, 130, 70))(d, rng)
    for label in ORDER:
        if label == "building" and label in labels:
            paint_building(d, rng, night=scene == "night city")
        elif label in labels and label in DRAW:
            DRAW[label](d, rng)
    return im


def caption(scene: str, labels: list[str], rng: random.Random) -> str:
    """Every label is named (night as "at night"), in shuffled order so a text model learns words, not slots."""
    things = [label for label in labels if label != "night"] or ["sky"]
    rng.shuffle(things)
    listed = things[0] if len(things) == 1 else ", ".join(things[:-1]) + " and " + things[-1]
    when = " at night" if "night" in labels else ""
    template = rng.choice(
        [
            "a {scene}{when} with {things}",
            "{things} in a {scene}{when}",
            "a photo of {things}{when}",
            "a {scene} scene{when}: {things}",
        ]
    )
    return template.format(scene=scene.replace("night city", "city"), things=listed, when=when)


def split_of(i: int) -> str:
    k = (i * 2654435761) % 10  # deterministic shuffle: 70 % train, 10 % val, 20 % test
    return "train" if k < 7 else "val" if k < 8 else "test"


def write_demo(out: str | os.PathLike[str], size: int = 400, seed: int = 0) -> Path:
    """Write `size` scenes into out/images and out/labels.jsonl; returns out. Idempotent for same args."""
    out = Path(out)
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(size):
        rng = random.Random(seed * 1_000_003 + i)
        scene, labels = sample_scene(rng)
        text = caption(scene, labels, rng)  # before drawing, so captions do not depend on what exists on disk
        name = f"demo_{i:05d}.jpg"
        target = images / name
        if not target.exists():
            atomic_write(target, partial(draw_scene(scene, labels, rng).save, format="JPEG", quality=90))
        lines.append(
            json.dumps(
                {"file": f"images/{name}", "labels": labels, "caption": text, "scene": scene, "split": split_of(i)}
            )
        )
    (out / "labels.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "README.txt").write_text(
        "xmr demo world: procedurally drawn scenes (generated by xmr, no third-party content).\n"
        f"{size} images, labels from a vocabulary of {len(LABELS)}: {', '.join(LABELS)}.\n",
        encoding="utf-8",
    )
    return out


def is_demo_world(folder: str | os.PathLike[str]) -> bool:
    """`folder` is the images folder of a world `write_demo` made (its README.txt says so)."""
    readme = Path(folder).resolve().parent / "README.txt"
    try:
        with open(readme, encoding="utf-8") as handle:
            return Path(folder).resolve().name == "images" and handle.read(16) == "xmr demo world: "
    except (OSError, UnicodeDecodeError):
        return False


# Real colour photographs that scikit-image ships inside its wheel (public domain or CC0; see its data/README).
SAMPLE_PHOTOS = (
    "astronaut.png",
    "chelsea.png",
    "coffee.png",
    "rocket.jpg",
    "hubble_deep_field.jpg",
    "motorcycle_left.png",
    "retina.jpg",
)


def add_sample_photos(images: str | os.PathLike[str]) -> list[Path]:
    """Copy scikit-image's sample photos (the `demo` extra) into images/samples as JPEGs; [] without it.

    They are unlabelled: the demo's labels.jsonl and its train/test splits stay the drawn world's. The files are
    read from the installed package, so nothing is downloaded and scikit-image itself is never imported.
    """
    import importlib.util

    from PIL import Image

    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return []
    source = Path(list(spec.submodule_search_locations)[0]) / "data"
    out = Path(images) / "samples"
    written = []
    for name in SAMPLE_PHOTOS:
        if not (source / name).is_file():
            continue
        target = out / f"skimage_{Path(name).stem}.jpg"
        if not target.exists():
            with Image.open(source / name) as im:
                atomic_write(target, partial(im.convert("RGB").save, format="JPEG", quality=92))
        written.append(target)
    return written
