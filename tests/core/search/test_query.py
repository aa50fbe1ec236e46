"""Query terms (issue #26 item 1): ` + ` / ` - ` joins, `W:` weights, image terms, `label:NAME`, --explain."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from xmr_gui.core.search.query import QueryError, Term, TermKind, parse_query


def test_terms_weights_and_signs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "pool.jpg")
    monkeypatch.chdir(tmp_path)
    q = parse_query("2:a dog + 0.5:./pool.jpg - label:Cat - a hen")
    assert q.terms == (
        Term(TermKind.TEXT, "a dog", 2.0),
        Term(TermKind.IMAGE, str((tmp_path / "pool.jpg").resolve()), 0.5),
        Term(TermKind.LABEL, "Cat", -1.0),
        Term(TermKind.TEXT, "a hen", -1.0),
    )
    assert q.notes == () and q.plain_text is None
    assert q.explain()[1] == f"+0.5\timage\t{(tmp_path / 'pool.jpg').resolve()}"


def test_what_stays_plain_text() -> None:
    for text in ("a t-shirt", "10:30 at the station", "a dog-walker+friend", "1984"):
        q = parse_query(text)
        assert q.plain_text == text, text
    assert parse_query("").terms == ()


def test_a_path_that_is_no_file_is_text_and_said(tmp_path: Path) -> None:
    q = parse_query(f"{tmp_path}/missing.jpg + ~/nowhere/x.png")
    assert [t.kind for t in q.terms] == [TermKind.TEXT, TermKind.TEXT]
    assert len(q.notes) == 2 and "is not a file: searched as text" in q.notes[0]


def test_empty_terms_are_refused() -> None:
    for text in ("a dog + 2:", "2: + a cat", "label:", "a cat - label:"):
        with pytest.raises(QueryError):
            parse_query(text)


def test_query_vector_is_the_normalised_weighted_sum(library, photos: Path) -> None:
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.search.photos import image_vector, query_vector, search_query, search_text, text_vector

    index_folder(library, photos)
    first, second = sorted(photos.iterdir())[:2]
    q = parse_query(f"2:a red square - 0.5:{first} + {second}")
    want = 2 * text_vector(library, "a red square") - 0.5 * image_vector(library, first) + image_vector(library, second)
    np.testing.assert_allclose(query_vector(library, q), want / np.linalg.norm(want), atol=1e-5)
    # one plain text term is exactly the plain text query
    assert search_text(library, "a red square", k=5) == search_query(library, parse_query("a red square"), k=5)
    # a positive image term's own photo is left out, as in image search
    hits = search_query(library, parse_query(f"{second} + 0.1:a photo"), k=30)
    assert str(second) not in {h.path for h in hits} and len(hits) == len(os.listdir(photos)) - 1
    with pytest.raises(QueryError, match="cancel out"):
        query_vector(library, parse_query("a cat - a cat"))
    with pytest.raises(QueryError, match="needs a checkpoint"):
        query_vector(library, parse_query("label:dog"))


def test_a_negative_term_pushes_its_photos_down(library, photos: Path) -> None:
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.search.photos import search_query

    index_folder(library, photos)
    target = sorted(photos.iterdir())[3]
    plain = search_query(library, parse_query("a photo"), k=30)
    rank = [h.path for h in plain].index(str(target))
    pushed = search_query(library, parse_query(f"a photo - 3:{target}"), k=30)
    assert [h.path for h in pushed].index(str(target)) > rank
    assert [h.path for h in pushed][-1] == str(target)


def test_xmr_search_explain_and_notes(library, photos: Path, tmp_path: Path, capsys) -> None:
    from xmr_gui.cli import main
    from xmr_gui.core.indexing.indexer import index_folder

    index_folder(library, photos)
    library.close()
    code = main(["search", "a bird - 2:chicken + ./nope.jpg", "--db", str(tmp_path / "db"), "--explain", "-k", "3"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "xmr: note: ./nope.jpg is not a file: searched as text" in err
    assert "xmr:   +1\ttext\ta bird" in err and "xmr:   -2\ttext\tchicken" in err
    assert len(out.splitlines()) == 3
