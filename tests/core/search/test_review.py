"""Labels to review (issue #25 item 6): a photo missing its neighbours' keyword, a keyword none of a photo's
neighbours carries, one label written two ways; nothing is written unless asked, then to sidecars only."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from conftest import run_cli


def _cluster(folder: Path, name: str, seed: int, n: int) -> list[Path]:
    """n near-copies of one picture (a little noise each), so the model puts them next to each other."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (12, 16, 3)).astype(np.float32)
    out = []
    for i in range(n):
        img = np.kron(base, np.ones((6, 6, 1))) + rng.normal(0, 3, (72, 96, 3))
        path = folder / f"{name}{i}.jpg"
        Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(path, quality=92)
        out.append(path)
    return out


def test_review_finds_missing_doubtful_and_merges(tmp_path: Path, tiny_spec, tiny_encoder, capsys) -> None:
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.learn.keywords import read_labels, write_sidecar
    from xmr_gui.core.search.review import review
    from xmr_gui.core.store.library import Library

    folder = tmp_path / "photos"
    folder.mkdir()
    cats, dogs = _cluster(folder, "cat", 1, 5), _cluster(folder, "dog", 2, 5)
    for p in cats[:4]:
        write_sidecar(p, ["cat"])  # cats[4] lacks it
    for p in dogs:
        write_sidecar(p, ["dog"])
    write_sidecar(dogs[0], ["cat", "Dogs"])  # a cat keyword among dogs, and "Dogs" beside "dog"
    with Library.create(tmp_path / "db", folder, tiny_spec) as lib:
        lib.use_encoder(tiny_encoder)
        index_folder(lib, folder)
        findings = review(lib, neighbours=4)
    got = {(f.kind, Path(f.subject).name if f.kind != "merge" else f.subject, f.label) for f in findings}
    assert ("missing", "cat4.jpg", "cat") in got
    assert ("doubtful", "dog0.jpg", "cat") in got
    assert ("merge", "dog", "Dogs") in got
    assert not any(k == "missing" and name.startswith("dog") and label == "cat" for k, name, label in got)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.jpg")}
    code, out, err = run_cli(capsys, "review-labels", "--db", str(tmp_path / "db"), "--neighbours", "4")
    assert code == 0 and "missing\t" in out and not (folder / "cat4.jpg.xmp").exists()  # listing writes nothing
    code, out, err = run_cli(
        capsys, "review-labels", "--db", str(tmp_path / "db"), "--neighbours", "4", "--write-sidecars"
    )
    assert code == 0 and "sidecars written" in err
    assert "cat" in read_labels(cats[4]).labels
    assert before == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.jpg")}
