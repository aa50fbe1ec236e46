"""Labels where people keep them (XMP sidecars, embedded XMP, IPTC, folders), `xmr train --labels-from`,
`xmr describe` with several photos and `xmr suggest`, on small generated JPEGs: real files, no mocks."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import small_photo
from xmr_gui.cli import main
from xmr_gui.core.learn.keywords import (
    KeywordError,
    folder_labels,
    labelled_dataset,
    read_labels,
    read_sidecar,
    sidecar_for,
    split_of,
    write_sidecar,
)

TINY = ["--model", "xmr-tiny", "--weights", "random"]

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def xmp(body: str, extra_ns: str = "") -> str:
    """An XMP document (as a sidecar holds it) with `body` inside its rdf:Description."""
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        f'<rdf:RDF xmlns:rdf="{RDF}">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:lr="http://ns.adobe.com/lightroom/1.0/" xmlns:digiKam="http://www.digikam.org/ns/1.0/" '
        f'xmlns:xmp="http://ns.adobe.com/xap/1.0/" {extra_ns}>{body}</rdf:Description></rdf:RDF></x:xmpmeta>'
    )


def bag(prop: str, *items: str, kind: str = "Bag") -> str:
    lis = "".join(f"<rdf:li>{i}</rdf:li>" for i in items)
    return f"<{prop}><rdf:{kind}>{lis}</rdf:{kind}></{prop}>"


def photo(path: Path, seed: int = 0, **save) -> Path:
    return small_photo(path, seed, **save)


def with_iptc(path: Path, *keywords: str) -> Path:
    """Add an APP13 segment (Photoshop 3.0 IRB 0x0404 holding IPTC 2:25 records) right after the JPEG's SOI: what
    Lightroom or Photo Mechanic write. Pillow reads IPTC but cannot write it, so the bytes are laid out here."""
    iptc = b"".join(b"\x1c\x02\x19" + struct.pack(">H", len(k.encode())) + k.encode() for k in keywords)
    if len(iptc) % 2:
        iptc += b"\0"
    irb = b"8BIM" + struct.pack(">H", 0x0404) + b"\0\0" + struct.pack(">I", len(iptc)) + iptc
    payload = b"Photoshop 3.0\0" + irb
    data = path.read_bytes()
    assert data[:2] == b"\xff\xd8"
    path.write_bytes(data[:2] + b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload + data[2:])
    return path


# -- reading ---------------------------------------------------------------------------------------------------
def test_sidecar_both_names_and_hierarchical_keywords(tmp_path):
    a = photo(tmp_path / "a.jpg")
    (tmp_path / "a.jpg.xmp").write_text(xmp(bag("dc:subject", "Cats", "  garden   party ")))
    b = photo(tmp_path / "b.jpg")
    (tmp_path / "b.xmp").write_text(
        xmp(
            bag("lr:hierarchicalSubject", "animals|mammals|cats", "places|garden")
            + bag("digiKam:TagsList", "animals/birds", kind="Seq")
        )
    )
    got = read_labels(a)
    assert got.labels == ["Cats", "garden party"] and got.sources == ["sidecar a.jpg.xmp"] and not got.problems
    assert read_labels(b).labels == ["animals", "mammals", "cats", "places", "garden", "birds"]
    assert sidecar_for(a) == tmp_path / "a.jpg.xmp" and sidecar_for(b) == tmp_path / "b.xmp"
    assert sidecar_for(photo(tmp_path / "c.jpg")) == tmp_path / "c.jpg.xmp"  # to write: the unambiguous name


def test_embedded_xmp_iptc_and_sidecar_are_joined_case_insensitively(tmp_path):
    packet = f'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>{xmp(bag("dc:subject", "Sea", "boat"))}<?xpacket?>'
    p = with_iptc(photo(tmp_path / "p.jpg", xmp=packet.encode()), "harbour", "SEA", "Ålesund")
    assert Image.open(p).info["xmp"]  # the packet really is in the JPEG's APP1
    (tmp_path / "p.jpg.xmp").write_text(xmp(bag("dc:subject", "sunset", "BOAT")))
    got = read_labels(p)
    assert got.labels == ["sunset", "BOAT", "Sea", "harbour", "Ålesund"]
    assert got.sources == ["sidecar p.jpg.xmp", "embedded XMP", "embedded IPTC"] and not got.problems
    png = tmp_path / "q.png"
    Image.new("RGB", (8, 8)).save(png, pnginfo=_png_xmp(xmp(bag("dc:subject", "drawing"))))
    assert read_labels(png).labels == ["drawing"]


def _png_xmp(text: str):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", text)
    return info


def test_photo_without_labels_and_unreadable_files(tmp_path):
    got = read_labels(photo(tmp_path / "plain.jpg"))
    assert got.labels == [] and got.sources == [] and got.problems == []
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    assert read_labels(tmp_path / "broken.jpg").labels == []


@pytest.mark.parametrize(
    "content, reason",
    [
        ("<x:xmpmeta", "not XML"),
        ("<html><body>oops</body></html>", "not XMP (its root is <html>"),
        ('<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><x>&b;</x>', "refused: EntitiesForbidden"),
        ('<?xml version="1.0" encoding="no-such-code"?><x:xmpmeta/>', "not XML (unknown encoding"),
    ],
)
def test_corrupt_sidecar_is_skipped_with_its_reason_and_nothing_is_lost(tmp_path, content, reason):
    p = photo(tmp_path / "p.jpg", xmp=xmp(bag("dc:subject", "kept")).encode())
    (tmp_path / "p.xmp").write_text(content)
    got = read_labels(p)
    assert got.labels == ["kept"] and got.sources == ["embedded XMP"]
    assert len(got.problems) == 1 and got.problems[0].startswith(f"sidecar p.xmp skipped: {reason}")
    with pytest.raises(KeywordError, match=reason.replace("(", r"\(")):  # the user's file: an XmrError, one line
        read_sidecar(tmp_path / "p.xmp")
    with pytest.raises(KeywordError, match="left as it is"):  # writing would lose what it holds
        write_sidecar(p, ["new"])
    assert (tmp_path / "p.xmp").read_text() == content


# -- writing ---------------------------------------------------------------------------------------------------
def test_written_sidecar_reads_back_identically_and_the_photo_is_untouched(tmp_path):
    p = photo(tmp_path / "p.jpg")
    before = p.read_bytes()
    car = write_sidecar(p, ["beach", " blue  sky", "Beach", "dog"])
    assert car == tmp_path / "p.jpg.xmp" and p.read_bytes() == before
    assert read_labels(p).labels == ["beach", "blue sky", "dog"]
    assert write_sidecar(p, ["DOG", "cat"]) == car  # added once; what is there stays
    assert read_labels(p).labels == ["beach", "blue sky", "dog", "cat"]
    assert "ns0:" not in car.read_text() and "<dc:subject>" in car.read_text()
    assert not list(tmp_path.glob(".*.tmp"))


def test_writing_keeps_an_existing_sidecars_other_fields(tmp_path):
    from defusedxml.ElementTree import parse

    p = photo(tmp_path / "p.jpg")
    ns = 'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" xmlns:my="urn:example:mine"'
    body = (
        '<xmp:Rating>4</xmp:Rating><photoshop:City>Oslo</photoshop:City><my:Note my:lang="nb">hei</my:Note>'
        + bag("dc:subject", "fjord")
        + bag("lr:hierarchicalSubject", "places|Norway")
    )
    (tmp_path / "p.xmp").write_text(xmp(body, ns))  # Lightroom's naming: updated in place, no second sidecar
    write_sidecar(p, ["boat", "Fjord"])
    assert not (tmp_path / "p.jpg.xmp").exists()
    assert read_labels(p).labels == ["fjord", "boat", "places", "Norway"]  # in document order
    root = parse(tmp_path / "p.xmp").getroot()
    assert root.find(".//{http://ns.adobe.com/xap/1.0/}Rating").text == "4"
    assert root.find(".//{http://ns.adobe.com/photoshop/1.0/}City").text == "Oslo"
    note = root.find(".//{urn:example:mine}Note")
    assert note.text == "hei" and note.get("{urn:example:mine}lang") == "nb"
    text = (tmp_path / "p.xmp").read_text()
    assert "photoshop:City" in text and "my:Note" in text  # its own prefixes, not ns0
    # a sidecar with a Description but no dc:subject gets one
    q = photo(tmp_path / "q.jpg")
    (tmp_path / "q.jpg.xmp").write_text(xmp("<xmp:Rating>2</xmp:Rating>"))
    write_sidecar(q, ["tree"])
    assert read_labels(q).labels == ["tree"] and "<xmp:Rating>2</xmp:Rating>" in (tmp_path / "q.jpg.xmp").read_text()


# -- datasets --------------------------------------------------------------------------------------------------
def test_folder_labels_and_datasets(tmp_path):
    root = tmp_path / "lib"
    a = photo(root / "animals" / "Cats" / "a.jpg")
    b = photo(root / "animals" / "dogs" / "b.jpg")
    c = photo(root / "c.jpg")
    photo(root / ".hidden" / "d.jpg")
    assert folder_labels(root, a) == ["animals", "Cats"] and folder_labels(root, c) == []
    ds, unlabelled, problems = labelled_dataset(root, "folders")
    assert ds.files == ["animals/Cats/a.jpg", "animals/dogs/b.jpg"] and unlabelled == [c] and problems == []
    assert ds.label_names == ["Cats", "animals", "dogs"] and ds.labels.tolist() == [[1, 1, 0], [0, 1, 1]]
    assert ds.captions == ["a photo of animals, Cats", "a photo of animals, dogs"]
    assert list(ds.splits) == [split_of("animals/Cats/a.jpg"), split_of("animals/dogs/b.jpg")]
    (root / "c.jpg.xmp").write_text(xmp(bag("dc:subject", "sun")))
    (root / "animals" / "dogs" / "b.xmp").write_text("garbage")
    ds2, unlabelled2, problems2 = labelled_dataset(root, "xmp")
    assert ds2.files == ["c.jpg"] and ds2.label_names == ["sun"] and unlabelled2 == [a, b]
    assert [(p, r.split(":")[0]) for p, r in problems2] == [(b, "sidecar b.xmp skipped")]
    assert ds2.fingerprint != ds.fingerprint
    back = type(ds).load(ds.write_jsonl(tmp_path / "copy"))  # the form `xmr train` hands to training
    assert back.label_names == ds.label_names and back.captions == ds.captions and list(back.splits) == list(ds.splits)
    assert back.files == [str(root / f) for f in ds.files]


def test_split_is_a_fixed_hash_of_the_name():
    names = [f"dir/photo_{i}.jpg" for i in range(2000)]
    splits = [split_of(n) for n in names]
    assert splits == [split_of(n) for n in names]
    share = {s: splits.count(s) / len(splits) for s in ("train", "val", "test")}
    assert share["train"] == pytest.approx(0.85, abs=0.03) and share["val"] == pytest.approx(0.15, abs=0.03)
    assert share["test"] == 0  # a user's labelled photos are all trained on or validate (keywords.SPLITS)


def test_captions_that_are_only_labels_are_told_apart():
    from xmr_gui.core.learn.keywords import CAPTION, captions_are_labels

    labels = [{"animals", "birds"}, {"places"}]
    made = [CAPTION.format("birds, animals"), CAPTION.format("places")]  # any order of the keywords
    assert captions_are_labels(made, labels)
    assert not captions_are_labels([made[0], "A beach at dawn."], labels)
    assert not captions_are_labels([made[0], CAPTION.format("places, city")], labels)
    assert not captions_are_labels([], [])
    assert captions_are_labels([CAPTION.format("Paris, France, trips")], [{"Paris, France", "trips"}])  # a comma
    assert captions_are_labels(["trips, Paris"], [{"Paris", "trips"}])  # labels.jsonl without captions (from_rows)
    assert not captions_are_labels(["a photo of Paris at night"], [{"Paris"}])


# -- the CLI end to end ----------------------------------------------------------------------------------------
LABELS = [("animals", "cats"), ("animals", "dogs"), ("places", "beach"), ("places", "city")]


@pytest.fixture(scope="module")
def tagged(tmp_path_factory, shared_cache):
    """12 tiny photos in label folders, each with the same labels as XMP keywords (hierarchical in a sidecar for
    half of them, embedded dc:subject for the other half), and 2 without labels."""
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("home")
        mp.setenv("XMR_HOME", str(home))
        mp.setenv("XMR_CACHE_DIR", str(shared_cache))
        root = home / "photos"
        for i in range(12):
            top, leaf = LABELS[i % 4]
            name = root / top / leaf / f"img{i:02d}.jpg"
            if i % 2:
                photo(name, i)
                (name.parent / f"img{i:02d}.xmp").write_text(xmp(bag("lr:hierarchicalSubject", f"{top}|{leaf}")))
            else:
                photo(name, i, xmp=xmp(bag("dc:subject", top, leaf)).encode())
        for i in range(2):
            photo(root / f"untagged{i}.jpg", 100 + i)
        yield home, root


def test_all_splits_are_used_by_the_fixture():
    names = [f"{'/'.join(LABELS[i % 4])}/img{i:02d}.jpg" for i in range(12)]
    assert {split_of(n) for n in names} == {"train", "val"}


@pytest.fixture(scope="module")
def trained(tagged, shared_cache):
    """Trained from the folders with the tiny random model (2 epochs)."""
    home, root = tagged
    out = home / "folders.xmr"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XMR_HOME", str(home))
        mp.setenv("XMR_CACHE_DIR", str(shared_cache))
        argv = ["train", str(root), "--out", str(out), "--labels-from", "folders", *TINY, "--set", "epochs=2"]
        assert main([*argv, "--json"]) == 0
    return home, root, out


LEARNT = ["animals", "beach", "cats", "city", "dogs", "places"]


def check_card(out: Path) -> None:
    from xmr_gui.core.learn.checkpoint import Checkpoint

    ckpt = Checkpoint.load(out)
    assert ckpt.labels == LEARNT
    assert ckpt.card["dataset"]["items"] == 12 and len(ckpt.card["graph"]["counts"]) == len(LEARNT)
    assert ckpt.card["backbone"]["model"] == "xmr-tiny"


def test_train_from_folders_writes_the_labels_into_the_card(trained):
    check_card(trained[2])


def test_eval_on_a_split_the_dataset_does_not_have_is_one_line(trained, tmp_path, capsys):
    _, root, out = trained
    ds, _, _ = labelled_dataset(root, "folders")
    folder = ds.write_jsonl(tmp_path / "ds")
    assert main(["eval", str(out), str(folder)]) == 1  # --split test: a keyword dataset keeps no test photos
    err = capsys.readouterr().err
    assert "the dataset has no photos in split test (it has train, val)" in err and "Traceback" not in err


def test_train_from_xmp_is_the_default_without_labels_jsonl_and_says_what_it_left_out(tagged, capsys):
    from xmr_gui.core.learn.checkpoint import Checkpoint

    home, root = tagged
    out = home / "xmp.xmr"
    code = main(["train", str(root), "--out", str(out), *TINY, "--set", "epochs=2"])
    printed = capsys.readouterr()
    err = printed.err
    assert code == 0, err
    check_card(out)
    rows = dict(line.split("\t", 1) for line in printed.out.splitlines())
    answered, zero_shot = map(float, rows["label_query_map"].split("\t"))  # as the checkpoint will answer them
    assert 0 < answered <= 1 and 0 < zero_shot <= 1
    assert "a query naming one label will be answered by its " in err
    assert "split by a hash of each photo's path: 9 train, 3 val" in err
    assert "note: only 3 validation photo(s): the checkpoint's choices (and the numbers below) rest on them" in err
    assert "the table is on the validation photos" in err  # no test photos: said, not an empty table
    assert Checkpoint.load(out).card["metrics"]["report_split"] == "val" and rows["map_avg"].split("\t")[0] != "nan"
    assert "labels from xmp (no labels.jsonl)" in err
    assert "12 photos with labels from xmp (6 labels); 2 without labels left out: " in err
    assert str(root / "untagged0.jpg") in err and str(root / "untagged1.jpg") in err


def test_one_labelled_photo_is_refused_not_trained_on_nothing(tmp_path, capsys):
    """cats/a.jpg falls in the training split (keywords.SPLITS); with no validation photo, every 10th training photo
    validates instead (Dataset.split), which leaves none to train on: one clear line, no checkpoint."""
    photo(tmp_path / "cats" / "a.jpg")
    out = tmp_path / "x.xmr"
    code = main(["train", str(tmp_path), "--out", str(out), *TINY, "--labels-from", "folders"])
    err = capsys.readouterr().err
    assert code == 1 and not out.exists()
    assert "split by a hash of each photo's path: 0 train, 1 val (no photo fell in validation" in err
    assert "1 labelled photo(s) leave none to train on: label more photos" in err and "Traceback" not in err


def test_train_on_a_folder_without_labels_says_so(tmp_path, capsys):
    photo(tmp_path / "a.jpg")
    code = main(["train", str(tmp_path), "--out", str(tmp_path / "x.xmr"), *TINY, "--labels-from", "xmp"])
    err = capsys.readouterr().err
    assert code == 1 and "no photo under" in err and "1 photos without" in err


@pytest.fixture(scope="module")
def indexed(trained):
    home, root, ckpt = trained
    db = home / "db"
    assert main(["index", str(root), "--db", str(db), "--checkpoint", str(ckpt), "-q"]) == 0
    return root, ckpt, db


def test_describe_one_photo_is_unchanged_and_several_get_a_path_column(indexed, capsys):
    root, ckpt, db = indexed
    a, b = root / "animals" / "cats" / "img00.jpg", root / "places" / "city" / "img03.jpg"
    capsys.readouterr()
    assert main(["describe", str(a), "--db", str(db), "-k", "3"]) == 0
    one = capsys.readouterr().out.splitlines()
    assert len(one) == 3 and all(len(r.split("\t")) == 2 for r in one)
    assert main(["describe", str(a), str(b), "--db", str(db), "-k", "3"]) == 0
    rows = [r.split("\t") for r in capsys.readouterr().out.splitlines()]
    assert [r[0] for r in rows] == [str(a)] * 3 + [str(b)] * 3
    assert ["\t".join(r[1:]) for r in rows[:3]] == one  # the same ranking as alone
    for part in (rows[:3], rows[3:]):
        scores = [float(r[1]) for r in part]
        assert scores == sorted(scores, reverse=True)
    assert main(["describe", str(a), str(b), "--db", str(db), "-k", "2", "--json"]) == 0
    objs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [set(o) for o in objs] == [{"path", "score", "label"}] * 4 and objs[2]["path"] == str(b)


def test_suggest_lists_unlabelled_photos_and_writes_sidecars(indexed, capsys):
    root, ckpt, db = indexed
    untagged = [root / "untagged0.jpg", root / "untagged1.jpg"]
    (root / "untagged1.xmp").write_text(xmp("<xmp:Rating>5</xmp:Rating>"))  # a sidecar without keywords
    before = [p.read_bytes() for p in untagged]
    capsys.readouterr()
    argv = ["suggest", str(root), "--checkpoint", str(ckpt), "--db", str(db), "--min-score", "0", "-k", "2"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    rows = [line.split("\t") for line in out.splitlines()]
    assert [r[0] for r in rows] == [str(p) for p in untagged]  # only the photos without labels
    names = {"animals", "beach", "cats", "city", "dogs", "places"}
    assert all(len(r[1].split(",")) == 2 and set(r[1].split(",")) <= names for r in rows)
    assert "2 photos without labels" in err and not (root / "untagged0.jpg.xmp").exists()  # only when asked
    assert main([*argv, "--write-sidecars"]) == 0
    out2, err2 = capsys.readouterr()
    assert out2 == out and "2 sidecars written" in err2
    assert [p.read_bytes() for p in untagged] == before  # never into the originals
    for p, r in zip(untagged, rows, strict=True):
        assert read_labels(p).labels == r[1].split(",")
    assert (root / "untagged0.jpg.xmp").is_file() and not (root / "untagged1.jpg.xmp").exists()
    assert "<xmp:Rating>5</xmp:Rating>" in (root / "untagged1.xmp").read_text()
    assert main(argv) == 0  # now every photo has labels: nothing left to suggest
    out3, err3 = capsys.readouterr()
    assert out3 == "" and "0 photos without labels" in err3


def test_suggest_goes_on_when_a_sidecar_cannot_be_written(indexed, capsys):
    root, ckpt, db = indexed
    blocked = root / "blocked.jpg"
    photo(blocked)
    (root / "blocked.jpg.xmp").mkdir()  # where its sidecar would go (a read-only folder fails alike, but not as root)
    try:
        capsys.readouterr()
        argv = ["suggest", str(root), "--checkpoint", str(ckpt), "--db", str(db), "--min-score", "0", "-k", "1"]
        code = main([*argv, "--write-sidecars"])
        out, err = capsys.readouterr()
        assert code == 1, err
        assert str(blocked) in out  # its suggestion is still listed
        assert f"xmr: not written: {root / 'blocked.jpg.xmp'}: " in err and "Traceback" not in err
        assert "1 not written (above)" in err
    finally:
        (root / "blocked.jpg.xmp").rmdir()
        blocked.unlink()


def test_suggest_on_a_folder_not_indexed_says_what_to_run(tmp_path, capsys, trained):
    photo(tmp_path / "p" / "a.jpg")
    code = main(["suggest", str(tmp_path / "p"), "--checkpoint", str(trained[2])])
    assert code == 1 and "is not indexed yet: run `xmr index" in capsys.readouterr().err


def test_suggestions_use_the_calibrated_thresholds(indexed):
    """A checkpoint trained now carries one calibrated threshold for every label and one per label shrunk toward it
    (version 2, learn/calibrate.py); `suggest` with no --min-score keeps exactly the labels at or above their own, or
    with thresholds="global" at or above the one for every label."""
    from xmr_gui.core.learn.calibrate import THRESHOLDS_VERSION
    from xmr_gui.core.learn.checkpoint import Checkpoint
    from xmr_gui.core.search.photos import image_vector
    from xmr_gui.core.search.suggest import suggest
    from xmr_gui.core.store.library import Library

    root, ckpt, db = indexed
    card = Checkpoint.load(ckpt).card["suggest"]
    assert len(card["thresholds"]) == len(Checkpoint.load(ckpt).labels) and card["precision_target"] == 0.7
    assert card["thresholds_version"] == THRESHOLDS_VERSION and 0.0 < card["global_threshold"] < 1.0
    with Library.open(db) as lib:
        lib.attach_checkpoint(ckpt, remember=False)
        cuts, overall = lib.space.thresholds, lib.space.global_threshold
        assert cuts is not None and overall == card["global_threshold"]  # the card read back
        photo_path = root / "untagged0.jpg"
        scores = lib.space.label_probabilities(image_vector(lib, photo_path))[0]
        k = len(scores)
        assert lib.space.suggest_thresholds == "per-label"
        got = suggest(lib, photo_path, k=k, thresholds="global")
        assert {s.label for s in got} == {lib.space.labels[c] for c in range(k) if scores[c] >= overall}
        assert all(s.threshold == overall and not s.per_label for s in got)
        assert [s.score for s in got] == sorted((s.score for s in got), reverse=True)
        own = suggest(lib, photo_path, k=k)  # the default: each label's own
        assert {s.label for s in own} == {lib.space.labels[c] for c in range(k) if scores[c] >= cuts[c]}
        assert all(s.per_label for s in own) and own == suggest(lib, photo_path, k=k, thresholds="per-label")
        lib.space.thresholds = np.zeros_like(cuts)  # every label passes its (zero) threshold
        assert len(suggest(lib, photo_path, k=k)) == k
        lib.space.global_threshold = 0.0
        assert len(suggest(lib, photo_path, k=k, thresholds="global")) == k


def test_only_shrunk_thresholds_are_served_by_default(indexed, tmp_path):
    """A card's per-label thresholds are `xmr suggest`'s default only when they are shrunk toward the global one
    (thresholds_version 2); each label's own from the validation photos alone (version 1) measured worse."""
    from safetensors.numpy import load_file, save_file

    from xmr_gui.core.learn.checkpoint import Checkpoint

    _, ckpt, _ = indexed
    card = Checkpoint.load(ckpt).card
    assert Checkpoint.load(ckpt).space().suggest_thresholds == "per-label"
    for version, expected in ((1, "global"), (2, "per-label")):
        changed = dict(card, suggest=dict(card["suggest"], thresholds_version=version))
        path = tmp_path / f"v{version}.xmr"
        metadata = {"format": "xmr-checkpoint", "xmr_card": json.dumps(changed)}
        save_file(load_file(str(ckpt)), str(path), metadata=metadata)
        assert Checkpoint.load(path).space().suggest_thresholds == expected


def test_an_old_card_with_per_label_thresholds_only_suggests_from_0_5_by_default():
    """A card from before learn/calibrate.py (per-label thresholds, no global one): the default is SUGGEST_MIN_SCORE
    for every label (it measured better than those thresholds); per-label still reads them."""
    from xmr_gui.core.search.suggest import calibrated, cut

    class Old:
        labels = ["a", "b"]
        thresholds = np.array([0.2, 0.9], np.float32)
        global_threshold = None
        suggest_thresholds = "global"  # as Checkpoint.space() leaves a card whose thresholds are not shrunk

    space = Old()
    assert [cut(t) for t in calibrated(space)] == [0.5, 0.5]  # type: ignore[arg-type]
    assert [cut(t) for t in calibrated(space, "per-label")] == pytest.approx([0.2, 0.9])  # type: ignore[arg-type]
    assert [cut(t, 0.3) for t in calibrated(space, "per-label")] == [0.3, 0.3]  # type: ignore[arg-type]
    space.global_threshold = 0.4
    assert [cut(t) for t in calibrated(space)] == [0.4, 0.4]  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        calibrated(space, "median")  # type: ignore[arg-type]


def test_thresholds_reach_the_precision_target_where_the_labels_allow():
    from xmr_gui.core.learn.cache import thresholds

    labels = np.array([[1, 1, 0], [1, 0, 0], [1, 0, 1], [0, 1, 0], [0, 0, 0], [1, 0, 0]], np.float32)
    scores = np.array(
        [[0.9, 0.2, 0.1], [0.8, 0.9, 0.2], [0.3, 0.8, 0.3], [0.7, 0.7, 0.4], [0.6, 0.1, 0.5], [0.2, 0.3, 0.6]],
        np.float32,
    )
    cuts = thresholds(scores, labels, default=0.5, target=0.7)
    # label 0: ranked 0.9 T, 0.8 T, 0.7 F, 0.6 F, 0.3 T, 0.2 T -> precision 1, 1, .67, .5, .6, .67: lowest >= .7 is 0.8
    assert cuts[0] == pytest.approx(0.8)
    # label 1 has 2 positives (< 3): the default; label 2 has 1: the default
    assert cuts[1] == pytest.approx(0.5) and cuts[2] == pytest.approx(0.5)
    # ranked: F T F T T F -> precision 0, .5, .33, .5, .6, .5: none reach .7, so the cutoff of the best (.6)
    column = np.array([[0.9], [0.8], [0.7], [0.6], [0.5], [0.4]], np.float32)
    truth = np.array([[0], [1], [0], [1], [1], [0]], np.float32)
    assert thresholds(column, truth, default=0.5, target=0.7)[0] == pytest.approx(0.5)
    assert thresholds(column, truth, default=0.5, target=0.5)[0] == pytest.approx(0.4)  # all six: .5 reaches .5
