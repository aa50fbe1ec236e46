"""Parquet exchange (store/exchange.py): a file that is not an xmr export is the user's error, said in one line."""

from __future__ import annotations

import pytest

from xmr_gui.cli import main
from xmr_gui.core.store.exchange import import_parquet
from xmr_gui.core.store.library import LibraryError

pa = pytest.importorskip("pyarrow")


def test_a_file_that_is_not_parquet_is_refused_with_a_library_error(tmp_path):
    bad = tmp_path / "photos.parquet"
    bad.write_text("path,vector\n")
    with pytest.raises(LibraryError, match="is not a readable Parquet file"):
        import_parquet(bad, tmp_path / "db", str(tmp_path))
    assert not (tmp_path / "db").exists()


def test_parquet_without_xmr_columns_is_not_an_xmr_export(tmp_path, capsys):
    import pyarrow.parquet as pq

    other = tmp_path / "other.parquet"
    table = pa.table({"name": ["a.jpg"]}).replace_schema_metadata({"xmr.model_spec": "{}"})
    pq.write_table(table, str(other))
    with pytest.raises(LibraryError, match="is not an xmr export"):
        import_parquet(other, tmp_path / "db", str(tmp_path))
    code = main(["import", "--parquet", str(other), "--folder", str(tmp_path), "--db", str(tmp_path / "db")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.startswith("xmr: error: ") and "\n" not in err and "Traceback" not in err
