"""Pretrained CLIP weights on the model hub: which file an open_clip model needs, and whether it is cached.

An open_clip (model, pretrained tag), or an ``hf-hub:ORG/REPO`` model (its open_clip_config.json and weights),
lives in the standard Hugging Face hub cache (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub;
read at each call) in huggingface_hub's layout (refs/REV names a commit, snapshots/COMMIT/FILE links to a blob),
where open_clip and huggingface_hub find it offline. `hub_download.download` puts it there.

Only the standard library here, on purpose: the window asks what is cached on its start-up path, and
huggingface_hub's own lookup (`try_to_load_from_cache`) costs its import, 0.3-0.45 s on the machine measured,
against a few stat calls here. Which repo holds which tag is data (data/clip_models.json, written by
docs/gen_clip_models.py from open_clip's registry), so neither torch nor open_clip is imported either.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..base import paths

DEFAULT_ENDPOINT = "https://huggingface.co"
HF_HUB_PREFIX = "hf-hub:"
HF_CONFIG_NAME = "open_clip_config.json"
HF_HUB_REVISION = "main"  # the --weights of an hf-hub: model
# What open_clip fetches for an hf-hub: model without a file name (pretrained.download_pretrained_from_hf).
HF_WEIGHTS_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
OFFLINE_WAYS = "the offline model (--model imagenet-minilm) or a local weights file (--weights PATH)"


# -- where things are -----------------------------------------------------------------------------------------
def endpoint() -> str:
    """The hub's address, HF_ENDPOINT read now (huggingface_hub reads it once, at import)."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def host() -> str:
    return urlsplit(endpoint()).netloc or endpoint()


def cache_dir() -> Path:
    """huggingface_hub's cache folder by its rules (HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME, XDG_CACHE_HOME),
    read now: huggingface_hub.constants reads them once, at import."""

    def expand(p: str) -> str:
        return os.path.expandvars(os.path.expanduser(p))

    home = expand(os.getenv("HF_HOME") or os.path.join(os.getenv("XDG_CACHE_HOME") or "~/.cache", "huggingface"))
    legacy = os.getenv("HUGGINGFACE_HUB_CACHE") or os.path.join(home, "hub")
    return Path(expand(os.getenv("HF_HUB_CACHE") or legacy))


def offline_env() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set to a true value, as huggingface_hub reads them (but now)."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.upper() in {"1", "ON", "YES", "TRUE"}


# -- which file a model needs -----------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((paths.PACKAGE / "data" / "clip_models.json").read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class Source:
    """Where a model's weights live on the hub: `files` are alternatives (the first the hub has is fetched);
    `needs` are fetched as well (an hf-hub: model's config)."""

    repo: str
    files: tuple[str, ...]
    needs: tuple[str, ...] = ()
    revision: str = "main"


@dataclass(frozen=True)
class RecommendedModel:
    """A CLIP model the window offers first (data/clip_models.json's "recommended")."""

    model: str
    tag: str
    size_mb: int  # approximate download
    knows: str  # one line on what it knows
    default: bool  # the one suggested to whoever wants more than the offline model


def _clean_tag(tag: str) -> str:
    return tag.lower().replace("-", "_")  # open_clip.pretrained._clean_tag


def source(model: str, tag: str) -> Source | None:
    """The hub files of (model, tag), or None when the hub has no such weights (xmr's own configs, a file, …)."""
    if model.startswith(HF_HUB_PREFIX):  # open_clip loads such a repo's main revision: the only tag it takes
        repo = model[len(HF_HUB_PREFIX) :].strip("/")
        ok = repo.count("/") == 1 and tag == HF_HUB_REVISION
        return Source(repo, HF_WEIGHTS_FILES, (HF_CONFIG_NAME,)) if ok else None
    entry = _table()["models"].get(model, {}).get(_clean_tag(tag))
    if entry is None:
        return None
    return Source(entry["repo"], tuple(entry["files"]), (), entry.get("revision", "main"))


def known_tags(model: str) -> list[str]:
    """The pretrained tags of an open_clip model (empty for a model open_clip has no weights for)."""
    return list(_table()["models"].get(model, {}))


def recommended() -> list[RecommendedModel]:
    """The models the window offers first, in the table's order."""
    return [RecommendedModel(**row) for row in _table()["recommended"]]


def size_mb(model: str, tag: str) -> int | None:
    """Approximate download size of a recommended model (None for others: the hub says it when asked)."""
    return next((r.size_mb for r in recommended() if r.model == model and r.tag == _clean_tag(tag)), None)


def repo_dir(repo: str) -> Path:
    """A model repo's folder in the cache (huggingface_hub's `repo_folder_name`)."""
    return cache_dir() / ("models--" + repo.replace("/", "--"))


def _cached(repo: str, filename: str, revision: str = "main") -> Path | None:
    """huggingface_hub.try_to_load_from_cache without importing it: refs/REV names the snapshot that holds it."""
    folder = repo_dir(repo)
    ref = folder / "refs" / revision
    try:
        commit = ref.read_text().strip() if ref.is_file() else revision
    except OSError:
        return None
    path = folder / "snapshots" / commit / filename
    return path if path.is_file() else None


def cached_file(model: str, tag: str) -> Path | None:
    """The cached weights file of (model, tag) (with everything else it needs), without touching the network."""
    src = source(model, tag)
    if src is None or any(_cached(src.repo, name, src.revision) is None for name in src.needs):
        return None
    return next((p for name in src.files if (p := _cached(src.repo, name, src.revision)) is not None), None)


def is_cached(model: str, tag: str) -> bool:
    return cached_file(model, tag) is not None


def cached_models() -> list[tuple[str, str]]:
    """Every (model, tag) whose weights are in the cache, the recommended ones first (default first of all)."""
    first = [(r.model, r.tag) for r in sorted(recommended(), key=lambda r: not r.default)]
    rest = [(m, t) for m, tags in _table()["models"].items() for t in tags if (m, t) not in first]
    return [(m, t) for m, t in first + rest if is_cached(m, t)]
