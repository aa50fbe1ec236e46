"""CLIP on first use: pretrained weights fetched once from a model hub, with progress, resumed, verified.

The hub is a loopback HTTP server of our own that speaks the part of the Hugging Face hub's protocol a download
uses (a HEAD on /REPO/resolve/REV/FILE answered with the commit, the checksum and the size; LFS files
redirected to a "CDN" on another port, as the real hub sends them to another host, that honours Range), serving
a seeded random-weights tiny open_clip model as an `hf-hub:` repo. Nothing of huggingface_hub or open_clip is
mocked: huggingface_hub asks the server, and open_clip loads the result from the cache in the real export
subprocess.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from loopback_hub import COMMIT, MODEL, REPO, WEIGHTS  # the fixtures `hub` and `server` come from conftest

ROOT = Path(__file__).resolve().parents[3]


def _index(photos: Path, db: Path, *extra: str) -> tuple[int, str]:
    """`xmr index` in-process (stderr captured around it), as a user runs it."""
    from contextlib import redirect_stderr

    from xmr_gui.cli import main

    err = io.StringIO()
    with redirect_stderr(err):
        code = main(["index", str(photos), "--db", str(db), "--model", MODEL, "--weights", "main", *extra])
    return code, err.getvalue()


def _one_clean_line(err: str) -> str:
    errors = [line for line in err.splitlines() if line.startswith("xmr: error:")]
    assert len(errors) == 1, err
    assert "Traceback" not in err and "^^^" not in err and 'File "' not in err, err
    return errors[0]


def _blobs(tmp_path: Path) -> list[str]:
    folder = tmp_path / "hf" / "hub" / f"models--{REPO.replace('/', '--')}" / "blobs"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_first_use_downloads_with_progress_then_indexes_and_the_second_run_uses_the_cache(hub, photos, tmp_path):
    code, err = _index(photos, tmp_path / "db")
    assert code == 0, err
    size = len(hub.files[WEIGHTS]) + len(hub.files["open_clip_config.json"])
    said = f"downloading {MODEL} ({size / 1e6:,.0f} MB) from 127.0.0.1:{hub.port}"
    assert said in err, err
    assert "downloading: 100%" in err and f"{size / 1e6:.2f}M/{size / 1e6:.2f}M" in err, err  # tqdm, in bytes
    assert " added" in err.splitlines()[-1]
    gets = [path for method, path, _ in hub.log if method == "GET"]
    assert len(gets) == 2 and any("/cdn/" in p for p in gets)  # the config and the weights, once each
    # in huggingface_hub's own layout: its lookup finds the file, under the commit the hub named
    from huggingface_hub import try_to_load_from_cache

    from xmr_gui.core.runtime import hub as xhub

    found = try_to_load_from_cache(REPO, WEIGHTS, cache_dir=tmp_path / "hf" / "hub")
    assert found == str(xhub.cached_file(MODEL, "main")) and f"/snapshots/{COMMIT}/" in found
    assert Path(found).read_bytes() == hub.files[WEIGHTS]

    hub.reset()
    code, err = _index(photos, tmp_path / "db2", "--allow-download")  # the old flag still runs, as a no-op
    assert code == 0, err
    assert hub.log == [] and "downloading" not in err  # from the cache: not one request
    hub.reset()
    code, err = _index(photos, tmp_path / "db3", "--offline")  # cached: offline is fine
    assert code == 0, err
    assert hub.log == []


def test_a_dropped_connection_is_resumed_with_a_range_request(hub, tmp_path):
    from xmr_gui.core.runtime import hub_download

    hub.cut_once = 1_000_000
    seen: list[tuple[int, int]] = []
    path = hub_download.download(MODEL, "main", on_progress=lambda done, total: seen.append((done, total)))
    assert path.read_bytes() == hub.files[WEIGHTS]
    ranges = [r for method, p, r in hub.log if method == "GET" and "/cdn/" in p]
    assert ranges == [None, "bytes=1000000-"], hub.log
    total = len(hub.files[WEIGHTS]) + len(hub.files["open_clip_config.json"])
    assert seen[-1] == (total, total) and all(t == total for _, t in seen)


def test_a_cancelled_download_keeps_what_arrived_and_the_next_one_resumes(hub, tmp_path):
    from xmr_gui.core.runtime import hub as xhub
    from xmr_gui.core.runtime.hub_download import DownloadCancelled, download

    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done > 2_000_000:
            cancel.set()

    with pytest.raises(DownloadCancelled, match="cancelled"):
        download(MODEL, "main", on_progress=progress, cancel=cancel)
    assert not xhub.is_cached(MODEL, "main")
    partial = [name for name in _blobs(tmp_path) if name.endswith(".incomplete")]
    assert len(partial) == 1
    hub.reset()
    path = download(MODEL, "main")
    assert path.read_bytes() == hub.files[WEIGHTS] and xhub.is_cached(MODEL, "main")
    ranges = [r for method, p, r in hub.log if method == "GET"]
    assert len(ranges) == 1 and ranges[0] is not None and int(ranges[0][6:-1]) > 2_000_000  # resumed, not restarted
    assert not any(name.endswith(".incomplete") for name in _blobs(tmp_path))


def test_a_push_during_the_download_leaves_one_commit_in_the_cache(hub, tmp_path):
    """The repo moves on after the first HEAD: every file is still fetched and linked at the commit that HEAD
    named, so the cache never holds one commit's config beside another's weights."""
    from xmr_gui.core.runtime import hub as xhub
    from xmr_gui.core.runtime.hub_download import download

    hub.push = hub.files[WEIGHTS] + b" "
    path = download(MODEL, "main")
    assert hub.main != COMMIT  # pushed
    assert path.read_bytes() == hub.original[WEIGHTS] and f"/snapshots/{COMMIT}/" in str(path)
    assert path == xhub.cached_file(MODEL, "main")  # refs/main names the commit fetched, with both its files
    assert not any(hashlib.sha256(hub.files[WEIGHTS]).hexdigest() in p for _, p, _ in hub.log)  # never fetched


def test_a_corrupted_download_is_refused_in_one_line_and_nothing_is_kept(hub, photos, tmp_path):
    from xmr_gui.core.runtime import hub as xhub

    hub.corrupt = True
    code, err = _index(photos, tmp_path / "db")
    line = _one_clean_line(err)
    assert code == 1 and "does not match the hub's checksum; nothing kept" in line, line
    sha = hashlib.sha256(hub.files[WEIGHTS]).hexdigest()
    assert not any(name.startswith(sha) for name in _blobs(tmp_path))  # neither the blob nor a partial
    assert not xhub.is_cached(MODEL, "main")


@pytest.mark.parametrize("how", ["--offline", "HF_HUB_OFFLINE=1"])
def test_offline_never_touches_the_network_and_says_so_in_one_line(hub, photos, tmp_path, monkeypatch, how):
    if how == "--offline":
        code, err = _index(photos, tmp_path / "db", "--offline", "--allow-download")
    else:
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        code, err = _index(photos, tmp_path / "db")
    line = _one_clean_line(err)
    assert code == 1 and hub.log == []
    assert "not in the local cache" in line and how in line and "--model imagenet-minilm" in line, line


# Only loopback: a test never sends traffic off this machine (an unroutable private address was tried here once)
@pytest.mark.parametrize("endpoint", ["closed-port"])
def test_an_unreachable_hub_fails_fast_in_one_line_naming_the_host(photos, tmp_path, monkeypatch, endpoint):
    if endpoint == "closed-port":
        with socket.socket() as s:  # a port nothing listens on any more
            s.bind(("127.0.0.1", 0))
            endpoint = f"http://127.0.0.1:{s.getsockname()[1]}"
    import huggingface_hub.constants

    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    # huggingface_hub reads HF_HUB_OFFLINE once, at import: an earlier test of this process may have had it set
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    started = time.perf_counter()
    code, err = _index(photos, tmp_path / "db", "--allow-download")
    seconds = time.perf_counter() - started
    line = _one_clean_line(err)
    assert code == 1 and seconds < 10, (seconds, err)
    host = endpoint.removeprefix("http://")
    assert f"model hub ({host}) cannot be reached" in line and "--allow-download" not in line, line
    assert "--model imagenet-minilm" in line and "--weights PATH" in line, line


def test_a_tag_nobody_knows_is_refused_at_once(tmp_path, monkeypatch):
    from xmr_gui.core.runtime.hub_download import download
    from xmr_gui.core.runtime.spec import ModelError

    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(ModelError, match="laion2b_s34b_b79k"):  # the known tags are named
        download("ViT-B-32", "no-such-tag")
    with pytest.raises(ModelError, match="--weights main"):
        download(MODEL, "laion2b_s34b_b79k")


def test_the_model_table_matches_the_installed_open_clip():
    """data/clip_models.json is what docs/gen_clip_models.py writes from open_clip's registry: rerun it after an
    open_clip upgrade (this fails until then)."""
    spec = importlib.util.spec_from_file_location("gen_clip_models", ROOT / "docs" / "gen_clip_models.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    committed = (ROOT / "xmr_gui" / "data" / "clip_models.json").read_text(encoding="utf-8")
    assert committed == gen.dumps(gen.table()), "run: .venv/bin/python docs/gen_clip_models.py"
    from xmr_gui.core.runtime import hub as xhub

    assert xhub.source("ViT-B-32", "laion2b_s34b_b79k") == xhub.Source(
        "laion/CLIP-ViT-B-32-laion2B-s34B-b79K", ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
    )
    assert [r for r in xhub.recommended() if r.default] == [xhub.recommended()[0]]


def test_asking_what_is_cached_stays_light(tmp_path):
    """The window asks on start-up: no torch, open_clip or huggingface_hub is imported for it (nor by importing
    the download module: huggingface_hub comes with the first download)."""
    code = (
        "import sys; from xmr_gui.core.runtime import hub, hub_download; hub.cached_models();"
        "hub.is_cached('ViT-B-32', 'openai');"
        "heavy = {'torch', 'open_clip', 'huggingface_hub'} & set(sys.modules); assert not heavy, heavy"
    )
    env = dict(os.environ, HF_HOME=str(tmp_path))
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT)
