"""Near-duplicates (issue #26 item 5) on generated photos with planted copies: resized, recompressed, cropped,
turned and mirrored copies group, different photos do not, the one to keep comes first, nothing is touched."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from xmr_gui.core.search.duplicates import MIN_CORRELATION, find_duplicates, likeness, look


def scene(seed: int, size=(160, 120)) -> Image.Image:
    """A photo-like picture: smooth gradients and a few blocks, different per seed."""
    rng = np.random.default_rng(seed)
    h, w = size[1], size[0]
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    a, b, c = rng.uniform(-3, 3, 3)
    img = np.stack([np.sin(a * xx + b * yy + k + c) for k in range(3)], -1) * 90 + 128
    for _ in range(4):
        x0, y0 = rng.integers(0, w - 30), rng.integers(0, h - 30)
        img[y0 : y0 + rng.integers(10, 30), x0 : x0 + rng.integers(10, 30)] = rng.integers(0, 255, 3)
    return Image.fromarray(img.clip(0, 255).astype(np.uint8))


def test_copies_look_alike_and_other_photos_do_not(tmp_path: Path) -> None:
    im = scene(1)
    im.save(tmp_path / "a.png")
    copies = {
        "half": im.resize((80, 60), Image.Resampling.LANCZOS),
        "cropped": im.crop((10, 7, 150, 113)),
        "turned": im.rotate(90, expand=True),
        "mirrored": im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    }
    for name, copy in copies.items():
        copy.save(tmp_path / f"{name}.jpg", quality=40)
        assert likeness(look(tmp_path / "a.png"), look(tmp_path / f"{name}.jpg")) >= MIN_CORRELATION, name
    scene(2).save(tmp_path / "other.png")
    assert likeness(look(tmp_path / "a.png"), look(tmp_path / "other.png")) < 0.8


def test_find_duplicates_groups_planted_copies(tmp_path: Path, tiny_spec, tiny_encoder) -> None:
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.store.library import Library

    folder = tmp_path / "photos"
    folder.mkdir()
    for seed in range(8):
        scene(seed).save(folder / f"p{seed}.jpg", quality=92)
    big = scene(0).resize((320, 240), Image.Resampling.LANCZOS)
    big.save(folder / "p0_large.jpg", quality=92)  # more pixels: the one to keep
    scene(0).save(folder / "p0_low.jpg", quality=30)
    scene(3).rotate(90, expand=True).save(folder / "p3_turned.jpg", quality=90)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    lib = Library.create(tmp_path / "db", folder, tiny_spec)
    lib.use_encoder(tiny_encoder)
    index_folder(lib, folder)
    # every neighbour a candidate (the tiny random model's vectors say little): the pictures decide
    groups = find_duplicates(lib, threshold=-1.0)
    named = sorted([Path(p).name for p in g.paths] for g in groups)
    assert named == [["p0_large.jpg", "p0.jpg", "p0_low.jpg"], ["p3.jpg", "p3_turned.jpg"]] or named == [
        ["p0_large.jpg", "p0_low.jpg", "p0.jpg"],
        ["p3.jpg", "p3_turned.jpg"],
    ]
    first = next(g for g in groups if len(g.paths) == 3)
    assert Path(first.paths[0]).name == "p0_large.jpg" and first.scores[0] == 1.0
    # an impossible vector threshold finds nothing, whatever the hashes say
    assert find_duplicates(lib, threshold=1.01) == []
    lib.close()
    assert before == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_xmr_duplicates_prints_groups(tmp_path: Path, tiny_spec, tiny_encoder, capsys) -> None:
    import json

    from xmr_gui.cli import main
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.store.library import Library

    folder = tmp_path / "photos"
    folder.mkdir()
    for seed in range(4):
        scene(seed).save(folder / f"p{seed}.jpg", quality=92)
    scene(1).resize((80, 60)).save(folder / "p1_small.jpg", quality=80)
    with Library.create(tmp_path / "db", folder, tiny_spec) as lib:
        lib.use_encoder(tiny_encoder)
        index_folder(lib, folder)
    assert main(["duplicates", "--db", str(tmp_path / "db"), "--threshold", "-1"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"{folder / 'p1.jpg'}\t{folder / 'p1_small.jpg'}"]
    assert "1 groups of near-duplicates among 5 photos" in err
    assert main(["duplicates", "--db", str(tmp_path / "db"), "--threshold", "-1", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["paths"] == [str(folder / "p1.jpg"), str(folder / "p1_small.jpg")] and row["scores"][0] == 1.0
    assert main(["duplicates", "--db", str(tmp_path / "db"), "--threshold", "2"]) == 1
    assert "--threshold is a cosine" in capsys.readouterr().err


def test_orientation_is_read_from_exif(tmp_path: Path) -> None:
    im = scene(5)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: shown rotated 90° clockwise
    im.save(tmp_path / "o.jpg", exif=exif, quality=95)
    im.rotate(-90, expand=True).save(tmp_path / "shown.png")
    seen = look(tmp_path / "o.jpg")
    assert float(seen.plain[0] @ look(tmp_path / "shown.png").plain[0]) > 0.98
