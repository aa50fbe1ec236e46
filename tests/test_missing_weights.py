"""Pretrained weights that are not here: one clean line, the right advice, no waiting on a network that isn't."""

from __future__ import annotations

import time

import pytest


@pytest.mark.parametrize("allow_download", [False, True])
def test_missing_pretrained_weights_fail_fast_with_one_clean_line(
    tmp_path, photos, monkeypatch, capsys, allow_download
):
    from xmr_gui.cli import main

    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens, as offline
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty hub cache
    args = ["index", str(photos), "--db", str(tmp_path / "db"), "--model", "xmr-tiny", "--weights", "openai"]
    started = time.perf_counter()
    assert main(args + (["--allow-download"] if allow_download else [])) == 1
    seconds = time.perf_counter() - started
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("xmr: error:")]
    assert len(errors) == 1, err
    assert "^^^" not in err and 'File "' not in err and "Traceback" not in err  # no traceback text
    assert "not in the local cache" in errors[0] and "--weights random" in errors[0]  # the offline way out
    if allow_download:
        assert "cannot be reached" in errors[0] and "pass --allow-download" not in errors[0]  # not a flag passed
    else:
        assert "pass --allow-download" in errors[0]
    assert seconds < 60, seconds  # was ~55 s of hub retries before torch even failed; now torch start-up + 5 s probe
