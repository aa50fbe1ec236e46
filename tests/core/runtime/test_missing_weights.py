"""Pretrained weights that are not here: one clean line, the right advice, no waiting on a network that isn't.

Downloading on first use is the default (tests/core/runtime/test_hub.py fetches from a loopback hub); here the hub
cannot be reached, or must not be asked, or has no such weights at all.
"""

from __future__ import annotations

import time

import pytest


def _fail(tmp_path, photos, monkeypatch, capsys, model: str, weights: str, *flags: str) -> tuple[str, str, float]:
    from xmr_gui.cli import main

    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens, as offline
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty hub cache
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    args = ["index", str(photos), "--db", str(tmp_path / "db"), "--model", model, "--weights", weights, *flags]
    started = time.perf_counter()
    assert main(args) == 1
    seconds = time.perf_counter() - started
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("xmr: error:")]
    assert len(errors) == 1, err
    assert "^^^" not in err and 'File "' not in err and "Traceback" not in err  # no traceback text
    return errors[0], err, seconds


@pytest.mark.parametrize("flags", [[], ["--allow-download"]])
def test_no_network_fails_fast_with_one_clean_line(tmp_path, photos, monkeypatch, capsys, flags):
    line, _, seconds = _fail(tmp_path, photos, monkeypatch, capsys, "ViT-B-32", "laion2b_s34b_b79k", *flags)
    assert "ViT-B-32/laion2b_s34b_b79k are not in the local cache" in line
    assert "model hub (127.0.0.1:9) cannot be reached" in line
    assert "--model imagenet-minilm" in line and "--weights PATH" in line  # the offline ways out
    assert "--allow-download" not in line and "--offline" not in line  # no advice to pass a flag
    assert seconds < 10, seconds  # no torch, no retries: the probe fails at once on a refused port


def test_offline_says_what_is_missing_without_asking_the_network(tmp_path, photos, monkeypatch, capsys):
    line, _, seconds = _fail(tmp_path, photos, monkeypatch, capsys, "ViT-B-32", "laion2b_s34b_b79k", "--offline")
    assert "not in the local cache and downloads are off (--offline)" in line
    assert "--model imagenet-minilm" in line and "cannot be reached" not in line
    assert seconds < 10, seconds


def test_weights_no_hub_has_are_refused_before_anything_loads(tmp_path, photos, monkeypatch, capsys):
    line, _, seconds = _fail(tmp_path, photos, monkeypatch, capsys, "xmr-tiny", "openai")
    assert "no pretrained weights named 'openai' are known for xmr-tiny" in line and "--weights random" in line
    line, _, _ = _fail(tmp_path, photos, monkeypatch, capsys, "ViT-B-32", "no_such_tag")
    assert "laion2b_s34b_b79k" in line  # the tags it does have
    assert seconds < 10, seconds
