"""open_clip towers served by ONNX Runtime: the search path that never imports torch.

The export happens once per model identity (in a subprocess, so this process stays torch-free) and is cached
under the user cache dir; a cached export that is stale, truncated or altered is detected and rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from . import paths
from .encoder import ModelError, ModelSpec

if TYPE_CHECKING:
    from .tokenizer import ClipTokenizer

log = logging.getLogger(__name__)

FORMAT = 2  # of an export folder; 2: weights as page-aligned external data (onnx_export.externalize)


def export_dir(identity: str) -> Path:
    return paths.cache_dir() / "onnx" / hashlib.sha256(f"{identity}|format{FORMAT}".encode()).hexdigest()[:20]


def _valid(folder: Path, identity: str, deep: bool = False) -> bool:
    """The export is for `identity` and its files are the ones written (size + mtime; sha256 when `deep`).

    The full hash is checked once after an export and whenever a file's size or mtime differs from the
    recorded ones; every later load trusts the stat, so a query does not re-read 300 MB of weights. A lazy
    check that had to hash records the new stats; a deep one writes nothing (it also checks read-only folders:
    a packaged app's bundle), so whoever made the files records them.
    """
    try:
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("identity") != identity or meta.get("format") != FORMAT:
            return False
        rehashed = False
        for name, digest in meta["sha256"].items():
            st = (folder / name).stat()
            seen = meta.get("stat", {}).get(name)
            if deep or seen != [st.st_size, st.st_mtime_ns]:
                if hashlib.sha256((folder / name).read_bytes()).hexdigest() != digest:
                    return False
                rehashed = not deep
        if rehashed:  # same bytes, new or missing stats (a copy, a restore, an old export): trust them from now on
            try:
                _record_stat(folder)
            except OSError:
                pass  # a read-only folder is simply hashed again next time
        return True
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _record_stat(folder: Path) -> None:
    meta = json.loads((folder / "meta.json").read_text())
    stats = {name: (folder / name).stat() for name in meta["sha256"]}
    meta["stat"] = {name: [st.st_size, st.st_mtime_ns] for name, st in stats.items()}
    tmp = folder / f".meta.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(meta))
    os.replace(tmp, folder / "meta.json")


@contextlib.contextmanager
def _export_lock(folder: Path) -> Iterator[None]:
    """One process at a time makes or replaces an export (others wait, then find it made); without this a
    second process could delete a folder the first has just memory-mapped."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; exports are still written to a temp folder and renamed
        yield
        return
    with open(folder.parent / f".{folder.name}.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_older_formats(folder: Path, identity: str) -> None:
    """Exports of the same model in an earlier format (hundreds of MB each) are dead weight once this one exists."""
    for other in folder.parent.iterdir():
        if other == folder or not other.is_dir() or other.name.startswith("."):
            continue
        try:
            meta = json.loads((other / "meta.json").read_text())
        except (OSError, ValueError):
            continue
        if meta.get("identity") == identity and meta.get("format") != FORMAT:
            shutil.rmtree(other, ignore_errors=True)


def ensure_export(spec: ModelSpec) -> Path:
    """The cached ONNX export of `spec`, made (in a torch subprocess) when missing or invalid."""
    identity = spec.identity()
    folder = export_dir(identity)
    if _valid(folder, identity):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _export_lock(folder):
        if not _valid(folder, identity):  # another process may have made it while this one waited
            _make_export(spec, identity, folder)
            _remove_older_formats(folder, identity)
    return folder


def _make_export(spec: ModelSpec, identity: str, folder: Path) -> None:
    bundled = paths.bundle_dir()
    if bundled is not None and _valid(bundled / "onnx-exports" / folder.name, identity, deep=True):
        # a packaged app's export: copied into the cache once, then used like any other
        _install_copy(bundled / "onnx-exports" / folder.name, folder)
        return
    if getattr(sys, "frozen", False):
        raise ModelError(
            f"this packaged xmr has no torch to export {spec.model} to ONNX; it serves the models it "
            "ships with. Install the Python package (`pipx install xmr`) to index with other models."
        )
    log.info("exporting %s to ONNX (once per model)", identity)
    done = subprocess.run(
        [sys.executable, "-m", "xmr_gui.core.onnx_export", spec.to_json(), str(folder)], capture_output=True, text=True
    )
    if done.returncode != 0 or not _valid(folder, identity, deep=True):
        raise ModelError(f"ONNX export of {spec.model} failed: {done.stderr.strip()[-600:]}")
    _record_stat(folder)


@contextlib.contextmanager
def replacing_dir(dst: Path, prefix: str) -> Iterator[Path]:
    """A temp folder beside `dst`, filled by the block; it replaces `dst` (a rename) only if the block succeeds."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=dst.parent))
    try:
        yield tmp
        if dst.exists():
            shutil.rmtree(dst)
        os.replace(tmp, dst)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _install_copy(src: Path, dst: Path) -> None:
    with replacing_dir(dst, ".copy-") as tmp:
        for item in src.iterdir():
            shutil.copyfile(item, tmp / item.name)
    _record_stat(dst)


class OnnxClipEncoder:
    def __init__(self, spec: ModelSpec, folder: Path | None = None, threads: int | None = None) -> None:
        import onnxruntime as ort

        self.spec = spec
        folder = folder or ensure_export(spec)
        meta = json.loads((folder / "meta.json").read_text())
        self.identity = str(meta["identity"])
        self.image_size, self.dim = int(meta["image_size"]), int(meta["dim"])
        self.device = "cpu"
        self._options = ort.SessionOptions()
        self._options.intra_op_num_threads = threads or os.cpu_count() or 1
        self._options.log_severity_level = 3
        # ORT's worker threads spin between ops; turning that off (to leave cores to the decoding threads) was
        # measured: the bare forward fell from 19.4 to 15.1 img/s (ViT-B-32, 2 cores), so they spin.
        self._text_options = ort.SessionOptions()
        self._text_options.intra_op_num_threads = self._options.intra_op_num_threads
        self._text_options.log_severity_level = 3
        self._text_options.add_session_config_entry("session.disable_prepacking", "1")
        self._folder = folder
        self._sessions: dict[str, object] = {}
        self._context = int(meta["context_length"])
        self._precision = str(meta.get("precision", "fp32"))
        self._tokenizer: ClipTokenizer | None = None

    def _session(self, name: str) -> Any:  # an onnxruntime.InferenceSession (the package is untyped)
        """Each tower is loaded on first use: a text search never pays for the image tower."""
        if name not in self._sessions:
            import onnxruntime as ort

            options = self._options
            if name == "text":
                # Prepacking copies every MatMul weight into MLAS's layout at load: it pays back over batches
                # of images, not for a one-line query (measured: load 0.23 → 0.08 s, query 0.045 → 0.060 s).
                options = self._text_options
            path = str(self._folder / f"{name}.onnx")
            try:
                self._sessions[name] = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
            except Exception as exc:  # ORT's own error types (NoSuchFile, InvalidProtobuf, …)
                if _valid(self._folder, self.identity, deep=True):
                    raise ModelError(f"ONNX Runtime cannot load {path}: {exc}") from None
                # damaged or replaced since this process checked it: rebuild (or wait for whoever is) and retry once
                self._folder = ensure_export(self.spec)
                self._sessions[name] = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        return self._sessions[name]

    def encode_images(self, pixels: np.ndarray) -> np.ndarray:
        if len(pixels) == 0:
            return np.zeros((0, self.dim), np.float32)
        tower = "visual.int8" if self._precision == "int8" else "visual"
        return cast(
            np.ndarray, self._session(tower).run(None, {"pixels": np.ascontiguousarray(pixels, dtype=np.uint8)})[0]
        )

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), np.float32)
        if self._tokenizer is None:
            from .tokenizer import ClipTokenizer

            self._tokenizer = ClipTokenizer(self._context)
        return cast(np.ndarray, self._session("text").run(None, {"tokens": self._tokenizer(list(texts))})[0])
