"""Labels to review (issue #25 item 6): a photo missing its neighbours' keyword, a keyword none of a photo's
neighbours carries, one label written two ways; nothing is written unless asked, then to sidecars only."""

from __future__ import annotations

import hashlib
from pathlib import Path

from conftest import photo_cluster, run_cli


def test_review_finds_missing_doubtful_and_merges(tmp_path: Path, tiny_spec, tiny_encoder, capsys) -> None:
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.learn.keywords import read_labels, write_sidecar
    from xmr_gui.core.search.review import review
    from xmr_gui.core.store.library import Library

    folder = tmp_path / "photos"
    folder.mkdir()
    cats, dogs = photo_cluster(folder, "cat", 1, 5), photo_cluster(folder, "dog", 2, 5)
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


def test_review_reports_progress_stops_on_cancel_and_writes_only_missing(tmp_path: Path, tiny_spec, tiny_encoder):
    import threading

    import pytest

    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.learn.keywords import read_labels, write_sidecar
    from xmr_gui.core.search import review as rv
    from xmr_gui.core.store.library import Library

    folder = tmp_path / "photos"
    folder.mkdir()
    cats, dogs = photo_cluster(folder, "cat", 1, 5), photo_cluster(folder, "dog", 2, 5)
    for p in cats[:4]:
        write_sidecar(p, ["cat"])
    for p in dogs:
        write_sidecar(p, ["dog"])
    write_sidecar(dogs[0], ["cat"])
    with Library.create(tmp_path / "db", folder, tiny_spec) as lib:
        lib.use_encoder(tiny_encoder)
        index_folder(lib, folder)
        steps: list[rv.Judged] = []
        old_chunk, rv.CHUNK = rv.CHUNK, 3  # 10 photos in 4 steps
        try:
            findings = rv.review(lib, 4, on_progress=steps.append)
            assert findings == rv.review(lib, 4)  # chunking does not change what is found
            cancel = threading.Event()
            cancel.set()
            with pytest.raises(rv.ReviewCancelled, match="nothing was written"):
                rv.review(lib, 4, on_progress=steps.append, cancel=cancel)
        finally:
            rv.CHUNK = old_chunk
    assert [(s.done, s.total) for s in steps] == [(3, 10), (6, 10), (9, 10), (10, 10)]
    kinds = {f.kind for f in findings}
    assert {"missing", "doubtful"} <= kinds
    sidecars = {p.name: p.read_bytes() for p in folder.glob("*.xmp")}
    written = rv.write_missing(findings)  # doubtful ones (cat on dog0) are not written: no safe removal here
    missing = {f.subject for f in findings if f.kind == "missing"}
    assert sorted(written.sidecars) == sorted(Path(p + ".xmp") for p in missing) and not written.failed
    assert {p.name: p.read_bytes() for p in folder.glob("*.xmp") if p.name in sidecars} == sidecars
    assert read_labels(dogs[0]).labels == ["dog", "cat"]
    (folder / "blocked.jpg.xmp").mkdir()
    failed = rv.write_missing([rv.Finding("missing", str(folder / "blocked.jpg"), "cat", 1.0, "")])
    assert failed.sidecars == [] and failed.failed[0][0] == str(folder / "blocked.jpg")
    assert "blocked.jpg.xmp" in failed.failed[0][1]
