"""`xmr index --backend lancedb` through the command line: every reading command answers on it as on hnswlib."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import exif_photo, read_map_csv, write_photos
from conftest import run_cli as run

TINY = ["--model", "xmr-tiny", "--weights", "random"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """24 plain photos and 6 with dates, cameras, a sidecar's keywords, in folders: something for every filter."""
    from xmr_gui.core.learn.keywords import write_sidecar

    root = tmp_path / "photos"
    write_photos(root, 24)
    for i in range(6):
        exif_photo(
            root / f"{2020 + i % 3}" / f"dated_{i}.jpg",
            100 + i,
            f"{2020 + i % 3}:0{1 + i}:02 10:00:00",
            ("Google", "Pixel 7") if i % 2 else ("Canon", "Canon EOS 5D"),
        )
    write_sidecar(root / "2021" / "dated_1.jpg", ["Grandma", "holiday"])
    return root


QUERIES = [  # (argv after `--db DB`) for every reading command
    ["search", "a dog on the beach", "-k", "10"],
    ["search", "a red photo after:2021", "-k", "10"],
    ["search", "a photo", "--before", "2022", "--camera", "pixel", "-k", "10"],
    ["search", "sky folder:2020", "-k", "10"],
    ["search", "keyword:holiday"],
    ["search", "grandma", "-k", "5"],
    ["search", "a dog - a cat + 0.5:sky", "-k", "10"],
]


def answers(capsys, db: Path, folder: Path, tmp_path: Path) -> list[str]:
    out = []
    for argv in [*QUERIES, ["search", "--image", str(folder / "photo_0003.jpg"), "-k", "10"]]:
        code, text, err = run(capsys, *argv, "--db", str(db))
        assert code == 0, err
        out.append(text)
    code, text, _ = run(capsys, "describe", str(folder / "photo_0001.jpg"), "--db", str(db), "-k", "4")
    out.append(text)
    csv = tmp_path / f"{db.name}.csv"
    assert run(capsys, "map", "--db", str(db), "--method", "pca", "--query", "a dog", "--csv", str(csv))[0] == 0
    out.append(repr(read_map_csv(csv)))
    return out


def test_every_reading_command_answers_on_lancedb_as_on_hnsw(folder, tmp_path, capsys):
    pytest.importorskip("lancedb")
    hnsw, lance = tmp_path / "hnsw", tmp_path / "lance"
    assert run(capsys, "index", str(folder), "--db", str(hnsw), "-q", *TINY)[0] == 0
    code, _, err = run(capsys, "index", str(folder), "--db", str(lance), "--backend", "lancedb", *TINY)
    assert code == 0, err
    assert sorted(p.suffix for p in lance.glob("index-*")) == [".json", ".lance"]  # the manifest and the table
    want, got = answers(capsys, hnsw, folder, tmp_path), answers(capsys, lance, folder, tmp_path)
    assert all(got) and got == want


def test_lance_uri_and_its_errors_from_the_cli(folder, tmp_path, capsys):
    pytest.importorskip("lancedb")
    db = tmp_path / "db"
    uri = (tmp_path / "tables").as_uri()
    code, _, err = run(capsys, "index", str(folder), "--db", str(db), "--lance-uri", uri, "-q", *TINY)
    assert code == 0, err
    assert len(list((tmp_path / "tables").glob("index-*.lance"))) == 1  # --lance-uri alone means lancedb
    code, out, _ = run(capsys, "search", "a dog", "--db", str(db), "-k", "3")
    assert code == 0 and len(out.splitlines()) == 3
    code, out, err = run(capsys, "index", str(folder), "--db", str(db), "--lance-uri", "nosuchscheme://b/x", *TINY)
    assert code == 1 and err.strip().splitlines()[-1].startswith("xmr: error: LanceDB cannot open nosuchscheme://b/x")
    assert "Traceback" not in err
    code, _, err = run(capsys, "index", str(folder), "--db", str(db), "--backend", "hnsw", "--lance-uri", uri, *TINY)
    assert code == 1 and err.strip().endswith("a Lance URI is for the lancedb backend: add --backend lancedb")
