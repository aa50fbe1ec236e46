"""What `xmr doctor` reports: the CPU features that decide int8, the runtimes, each cached model's int8 check,
and for a library the precision it runs at and why."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from .base import paths
from .runtime.int8 import cpu_features, cpu_line, cpu_signature, summary


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


@dataclass(frozen=True)
class ExportInfo:
    """A cached ONNX export and what its int8 check found."""

    identity: str
    folder: str
    int8: str


@dataclass(frozen=True)
class LibraryInfo:
    """A library's model and the precision it runs at, with why."""

    db: str
    model: str
    precision: str
    reason: str
    preparation: dict[str, Any]


@dataclass(frozen=True)
class DoctorReport:
    cpu: dict[str, Any]  # the CPU's name and flags (runtime.int8.cpu_features)
    cpu_line: str
    versions: dict[str, str]
    exports: list[ExportInfo]
    library: LibraryInfo | None = None

    def to_json(self) -> dict[str, Any]:
        """The report as `xmr doctor --json` prints it (no "library" key without a library)."""
        out = asdict(self)
        if self.library is None:
            del out["library"]
        return out


def exports() -> list[ExportInfo]:
    """Each cached ONNX export with what its int8 check found (on this CPU, or that it must run again here)."""
    root = paths.cache_dir() / "onnx"
    found = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        try:
            meta = json.loads((folder / "meta.json").read_text())
        except (OSError, ValueError):
            continue
        try:
            record = json.loads((folder / "int8.json").read_text())
        except (OSError, ValueError):
            record = None
        if record is None:
            int8 = "int8 not prepared yet"
        elif record.get("cpu_signature") != cpu_signature():
            int8 = "int8 checked on another CPU: checked again here on next use"
        else:
            int8 = summary(record)
        found.append(ExportInfo(str(meta.get("identity")), str(folder), int8))
    return found


def report(folder: str | None = None, db: Path | None = None) -> DoctorReport:
    """This machine's CPU, runtimes and exports; with `folder` or `db`, also that library's model and precision."""
    info = DoctorReport(
        cpu=cpu_features(),
        cpu_line=cpu_line(),
        versions={name: _version(name) for name in ("onnxruntime", "numpy", "hnswlib", "torch", "open_clip_torch")},
        exports=exports(),
    )
    if folder is None and db is None:
        return info
    from .opening import FindRequest, open_existing

    # the folder's own library wherever it lives (a portable one inside the folder too), or a parent's
    with open_existing(FindRequest(db, os.path.abspath(folder or "."), anywhere=False)).library as lib:
        chosen = lib.preparation()
        library = LibraryInfo(
            str(lib.db_dir),
            lib.spec.describe(),
            lib.spec.precision,
            chosen.get("reason", "not recorded (indexed by an older xmr)"),
            chosen,
        )
    return replace(info, library=library)
