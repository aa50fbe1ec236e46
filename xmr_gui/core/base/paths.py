"""Where xmr keeps data, caches and settings (platformdirs), overridable with XMR_HOME for tests."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

APP = "xmr"
# The xmr_gui folder: its model_configs/, configs/ and data/ are package data (wheels and packaged apps carry them).
PACKAGE = Path(__file__).resolve().parents[2]


def _base(kind: str) -> Path:
    home = os.environ.get("XMR_HOME")
    if home:
        return Path(home) / kind
    import platformdirs

    getter = {
        "data": platformdirs.user_data_dir,
        "cache": platformdirs.user_cache_dir,
        "config": platformdirs.user_config_dir,
    }[kind]
    return Path(getter(APP, appauthor=False))


def data_dir() -> Path:
    return _base("data")


def cache_dir() -> Path:
    """Caches are keyed by content hashes, so XMR_CACHE_DIR may point several homes (test runs) at one."""
    shared = os.environ.get("XMR_CACHE_DIR")
    return Path(shared) if shared else _base("cache")


def config_dir() -> Path:
    return _base("config")


def libraries_dir() -> Path:
    return data_dir() / "libraries"


def default_db_dir(folder: str | os.PathLike[str]) -> Path:
    """The database folder for a photo folder: readable name + hash of its absolute path."""
    absolute = os.path.abspath(os.fspath(folder))
    digest = hashlib.sha256(os.fsencode(absolute)).hexdigest()[:16]
    name = "".join(c if c.isalnum() else "_" for c in os.path.basename(absolute.rstrip(os.sep)))[:40]
    return libraries_dir() / f"{name or 'root'}-{digest}"


def demo_dir() -> Path:
    return data_dir() / "demo"


def bundle_dir() -> Path | None:
    """The unpacked data folder of a packaged (PyInstaller) app; None when running from Python."""
    base = getattr(sys, "_MEIPASS", None) if getattr(sys, "frozen", False) else None
    return Path(base) if base else None


def shipped_demo_checkpoint() -> Path | None:
    """xmr-demo.xmr (trained on the demo world), if this install has it: inside a packaged app, in a source
    checkout (models/), or where a wheel installs its data files (PREFIX/share/xmr/models; ~/.local/share/... for
    `pip install --user`)."""
    import site

    bundle = bundle_dir()
    for folder in ([bundle / "models"] if bundle else []) + [
        PACKAGE.parent / "models",
        Path(sys.prefix) / "share" / "xmr" / "models",
        Path(site.getuserbase()) / "share" / "xmr" / "models",
    ]:
        if (folder / "xmr-demo.xmr").is_file():
            return folder / "xmr-demo.xmr"
    return None
