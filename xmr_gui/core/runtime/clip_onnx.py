"""open_clip towers served by ONNX Runtime: the search path that never imports torch.

The export happens once per model identity (in a subprocess, so this process stays torch-free) and is cached
under the user cache dir; a cached export that is stale, truncated or altered is detected and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ..base import locks, paths
from ..base.files import atomic_write_text, file_sha256, replacing_dir
from ..base.progress import Step, quiet
from . import offline
from .onnx_files import FORMAT, externalize
from .spec import ModelError, ModelSpec

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger(__name__)

INT8_TOWER = "visual.int8.onnx"
INT8_RECORD = "int8.json"


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
        return _files_intact(folder, "meta.json", meta, deep)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _files_intact(folder: Path, record_name: str, record: dict[str, Any], deep: bool) -> bool:
    """The files a record lists have the bytes it hashed (trusting an unchanged size + mtime unless `deep`)."""
    rehashed = False
    for name, digest in record["sha256"].items():
        st = (folder / name).stat()
        seen = record.get("stat", {}).get(name)
        if deep or seen != [st.st_size, st.st_mtime_ns]:
            if hashlib.sha256((folder / name).read_bytes()).hexdigest() != digest:
                return False
            rehashed = not deep
    if rehashed:  # same bytes, new or missing stats (a copy, a restore, an old export): trust them from now on
        try:
            _record_stat(folder, record_name)
        except OSError:
            pass  # a read-only folder is simply hashed again next time
    return True


def _record_stat(folder: Path, record_name: str = "meta.json") -> None:
    meta = json.loads((folder / record_name).read_text())
    stats = {name: (folder / name).stat() for name in meta["sha256"]}
    meta["stat"] = {name: [st.st_size, st.st_mtime_ns] for name, st in stats.items()}
    atomic_write_text(folder / record_name, json.dumps(meta))


def int8_record(folder: Path) -> dict[str, Any] | None:
    """What the int8 check found for the export in `folder` on a CPU like this one; None when it must run (again)."""
    from .int8 import cpu_signature

    try:
        record: dict[str, Any] = json.loads((folder / INT8_RECORD).read_text())
        if record.get("cpu_signature") != cpu_signature():
            return None  # decided on another kind of CPU (a copied cache, a packaged app): check here
        if record.get("recipe") and not _files_intact(folder, INT8_RECORD, record, deep=False):
            return None
        return record
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _remove_older_formats(folder: Path, identity: str) -> None:
    """Exports of the same model in an earlier format (hundreds of MB each) are dead weight once this one exists."""
    for other in folder.parent.iterdir():
        if other == folder or not other.is_dir() or other.name.startswith("."):
            continue
        try:
            meta = json.loads((other / "meta.json").read_text())
        except (OSError, ValueError):
            continue
        if str(meta.get("identity", "")).removesuffix("+int8") == identity and meta.get("format") != FORMAT:
            shutil.rmtree(other, ignore_errors=True)


class PreparationCancelled(ModelError):
    """The user stopped a model's export or int8 check; nothing half-made is kept."""


def ensure_export(spec: ModelSpec, on_step: Step = quiet, cancel: threading.Event | None = None) -> Path:
    """The cached ONNX export of `spec`'s weights, made (in a torch subprocess) when missing or invalid.

    For an int8 spec the folder also holds the int8 image tower that passed (or came closest to passing) the
    check of `int8.choose_recipe` on this CPU; `int8_record(folder)` says which. `on_step` hears each step.
    """
    base = spec.with_precision("fp32")
    identity = base.identity()
    folder = export_dir(identity)
    want_int8 = spec.precision == "int8"
    if _valid(folder, identity) and (not want_int8 or int8_record(folder) is not None):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    # One process at a time makes or replaces an export (others wait, then find it made): without this a second
    # process could delete a folder the first has just memory-mapped.
    with locks.hold(folder.parent / f".{folder.name}.lock"):
        if not _valid(folder, identity):  # another process may have made it while this one waited
            _make_export(base, identity, folder, on_step, cancel)
            _remove_older_formats(folder, identity)
        if want_int8 and int8_record(folder) is None:
            _make_int8(folder, on_step, cancel)
    return folder


def _make_int8(folder: Path, on_step: Step, cancel: threading.Event | None = None) -> None:
    """Quantise the image tower by the first recipe that agrees with fp32 here; files replaced, never rewritten."""
    from .int8 import choose_recipe

    with tempfile.TemporaryDirectory(prefix=".int8-", dir=folder) as tmp_name:
        tmp = Path(tmp_name)
        meta = json.loads((folder / "meta.json").read_text())
        size = int(meta["image_size"])
        record, kept = choose_recipe(folder / "visual.onnx", tmp / INT8_TOWER, size, on_step, session_options(), cancel)
        if cancel is not None and cancel.is_set():
            raise PreparationCancelled("model preparation cancelled (the int8 check runs again next time)")
        names = []
        if kept is not None:
            externalize(kept)
            names = [INT8_TOWER, INT8_TOWER + ".data"]
        record["sha256"] = {name: file_sha256(tmp / name) for name in names}
        for name in reversed(names):  # the data first: a reader of the new graph must find the new weights
            os.replace(tmp / name, folder / name)
        atomic_write_text(folder / INT8_RECORD, json.dumps(record, indent=1))
    _record_stat(folder, INT8_RECORD)


def session_options(prepacking: bool = True, threads: int | None = None) -> Any:
    """ONNX Runtime session options as xmr runs its towers (all cores, quiet; prepacking off for the text tower)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.log_severity_level = 3
    if not prepacking:
        options.add_session_config_entry("session.disable_prepacking", "1")
    return options


def _make_export(
    spec: ModelSpec,
    identity: str,
    folder: Path,
    on_step: Step = quiet,
    cancel: threading.Event | None = None,
) -> None:
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
    on_step(f"exporting {spec.model} to ONNX (once per model; loading torch takes a few seconds)")
    exporter = "offline_export" if offline.is_offline(spec.model) else "onnx_export"
    proc = subprocess.Popen(
        [sys.executable, "-m", f"xmr_gui.core.runtime.{exporter}", spec.to_json(), str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    if cancel is not None:

        def stop_on_cancel() -> None:
            while proc.poll() is None:
                if cancel.wait(0.2):
                    proc.kill()
                    return

        threading.Thread(target=stop_on_cancel, daemon=True).start()
    tail: list[str] = []
    said: list[str] = []
    for line in proc.stderr:  # the exporter names each step on a "step: " line; the rest is kept for errors
        if line.startswith("step: "):
            on_step(line[6:].strip())
        else:
            tail.append(line)
            if line.startswith("error: "):  # a user-caused failure, already one line: no traceback text
                said.append(line[7:].strip())
    if proc.wait() != 0 and cancel is not None and cancel.is_set():
        raise PreparationCancelled(f"export of {spec.model} cancelled (it starts again next time)")
    if proc.returncode != 0 or not _valid(folder, identity, deep=True):
        if said:
            raise ModelError(said[-1])
        raise ModelError(f"ONNX export of {spec.model} failed: {''.join(tail).strip()[-600:]}")
    _record_stat(folder)


def _install_copy(src: Path, dst: Path) -> None:
    with replacing_dir(dst, ".copy-") as tmp:
        for item in src.iterdir():
            shutil.copyfile(item, tmp / item.name)
    _record_stat(dst)


class OnnxClipEncoder:
    def __init__(self, spec: ModelSpec, folder: Path | None = None, threads: int | None = None) -> None:
        import onnxruntime  # noqa: F401  - a missing runtime fails here, where load_encoder can fall back

        self.spec = spec
        folder = folder or ensure_export(spec)
        meta = json.loads((folder / "meta.json").read_text())
        self.identity = spec.identity()
        self.image_size, self.dim = int(meta["image_size"]), int(meta["dim"])
        self.device = "cpu"
        self._options = session_options(threads=threads)
        # ORT's worker threads spin between ops; turning that off (to leave cores to the decoding threads) was
        # measured: the bare forward fell from 19.4 to 15.1 img/s (ViT-B-32, 2 cores), so they spin.
        self._text_options = session_options(prepacking=False, threads=threads)
        self._folder = folder
        self._sessions: dict[str, object] = {}
        self._context = int(meta["context_length"])
        self._tokenizer_kind = str(meta.get("tokenizer", "clip"))
        self._precision = spec.precision
        self._tokenizer: Callable[[list[str]], np.ndarray] | None = None
        self.knows: str | None = meta.get("knows")  # one line on what a closed-vocabulary model knows

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
                if _valid(self._folder, self.spec.with_precision("fp32").identity(), deep=True):
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
            if self._tokenizer_kind == "wordpiece":
                from .offline_text import WordPieceTokenizer

                self._tokenizer = WordPieceTokenizer(self._folder / "tokenizer.json")
            else:
                from .tokenizer import ClipTokenizer

                self._tokenizer = ClipTokenizer(self._context)
        return cast(np.ndarray, self._session("text").run(None, {"tokens": self._tokenizer(list(texts))})[0])

    def concepts(self) -> tuple[list[str], np.ndarray] | None:
        """The names and unit vectors of what a closed-vocabulary model knows (imagenet-minilm's classes and
        groups), None for an open one (CLIP)."""
        names_file = self._folder / "concepts.json"
        if not names_file.is_file():
            return None
        names = json.loads(names_file.read_text(encoding="utf-8"))["names"]
        return list(names), np.load(self._folder / "concepts.npy", allow_pickle=False)
