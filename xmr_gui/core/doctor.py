"""What `xmr doctor` reports: the CPU features that decide int8, the runtimes, each cached model's int8 check,
and for a library the precision it runs at and why."""

from __future__ import annotations

import json
import os
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


def exports() -> list[dict[str, str]]:
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
        found.append({"identity": str(meta.get("identity")), "folder": str(folder), "int8": int8})
    return found


def report(folder: str | None = None, db: Path | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu": cpu_features(),
        "cpu_line": cpu_line(),
        "versions": {name: _version(name) for name in ("onnxruntime", "numpy", "hnswlib", "torch", "open_clip_torch")},
        "exports": exports(),
    }
    if folder is not None or db is not None:
        from .store.library import Library

        db = db or paths.default_db_dir(os.path.abspath(folder or "."))
        with Library.open(db) as lib:
            chosen = lib.preparation()
            info["library"] = {
                "db": str(db),
                "model": lib.spec.describe(),
                "precision": lib.spec.precision,
                "reason": chosen.get("reason", "not recorded (indexed by an older xmr)"),
                "preparation": chosen,
            }
    return info
