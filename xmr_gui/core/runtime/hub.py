"""Pretrained CLIP weights from the model hub: fetched once, verified, kept in huggingface_hub's own cache.

`download(model, tag)` puts the file open_clip would fetch for an open_clip (model, pretrained tag), or for an
``hf-hub:ORG/REPO`` model (its open_clip_config.json and weights), into the standard hub cache (HF_HUB_CACHE,
else HF_HOME/hub, else ~/.cache/huggingface/hub; read at each call), in the cache's own layout (blobs/,
snapshots/, refs/), so open_clip and huggingface_hub find it there offline. It reports bytes as they arrive,
stops between chunks when cancelled (the partial file is kept and resumed with an HTTP Range request next
time), and checks the file against the hub's checksum (the sha256 of an LFS file, the git blob hash of a small
one) before it becomes visible in the cache. With no network it fails after a short reachability probe
(≤ 5 s) rather than after minutes of retries; offline (the `offline` argument or HF_HUB_OFFLINE=1) it never
touches the network.

No torch, open_clip or huggingface_hub here (only the standard library): the table of which repo holds which
tag is data (data/clip_models.json, written by docs/gen_clip_models.py from open_clip's registry), so asking
whether a model is cached costs a few stat calls on the window's start-up path.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import re
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlparse

from ..base import paths
from ..base.progress import Step, quiet
from .spec import ModelError

DEFAULT_ENDPOINT = "https://huggingface.co"
HF_HUB_PREFIX = "hf-hub:"
HF_CONFIG_NAME = "open_clip_config.json"
HF_HUB_REVISION = "main"  # the --weights of an hf-hub: model
# What open_clip fetches for an hf-hub: model without a file name (pretrained.download_pretrained_from_hf).
HF_WEIGHTS_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
OFFLINE_WAYS = "the offline model (--model imagenet-minilm) or a local weights file (--weights PATH)"
PROBE_SECONDS = 5.0
READ_TIMEOUT = 30.0
CHUNK = 1 << 18
RETRIES = 3  # a connection that drops mid-file is resumed this many times before giving up (the partial is kept)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")


class DownloadCancelled(ModelError):
    """The user stopped a download; what arrived is kept and the next download resumes from it."""


# -- where things are -----------------------------------------------------------------------------------------
def endpoint() -> str:
    """The hub's address, HF_ENDPOINT read now (huggingface_hub reads it once, at import)."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def host() -> str:
    return urlparse(endpoint()).netloc or endpoint()


def cache_dir() -> Path:
    """huggingface_hub's cache folder by its rules (HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME, XDG_CACHE_HOME)."""

    def expand(p: str) -> str:
        return os.path.expandvars(os.path.expanduser(p))

    home = expand(os.getenv("HF_HOME") or os.path.join(os.getenv("XDG_CACHE_HOME") or "~/.cache", "huggingface"))
    legacy = os.getenv("HUGGINGFACE_HUB_CACHE") or os.path.join(home, "hub")
    return Path(expand(os.getenv("HF_HUB_CACHE") or legacy))


def offline_env() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set to a true value, as huggingface_hub reads them."""
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


def recommended() -> list[dict[str, Any]]:
    """The models the window offers first: model, tag, size_mb (approximate), knows (one line), default."""
    return [dict(row) for row in _table()["recommended"]]


def size_mb(model: str, tag: str) -> int | None:
    """Approximate download size of a recommended model (None for others: the hub says it when asked)."""
    return next((r["size_mb"] for r in recommended() if r["model"] == model and r["tag"] == _clean_tag(tag)), None)


def _repo_dir(repo: str) -> Path:
    return cache_dir() / ("models--" + repo.replace("/", "--"))


def _cached(repo: str, filename: str, revision: str = "main") -> Path | None:
    """huggingface_hub.try_to_load_from_cache without importing it: refs/REV names the snapshot that holds it."""
    folder = _repo_dir(repo)
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
    first = [(r["model"], r["tag"]) for r in sorted(recommended(), key=lambda r: not r["default"])]
    rest = [(m, t) for m, tags in _table()["models"].items() for t in tags if (m, t) not in first]
    return [(m, t) for m, t in first + rest if is_cached(m, t)]


# -- fetching ---------------------------------------------------------------------------------------------------
def _what(model: str, tag: str) -> str:
    return f"{model}" if model.startswith(HF_HUB_PREFIX) else f"{model}/{tag}"


def download(
    model: str,
    tag: str,
    on_progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    offline: bool = False,
    on_step: Step = quiet,
) -> Path:
    """The weights file of (model, tag) in the hub cache, fetched when missing. Raises one-line ModelErrors.

    on_progress(done, total): bytes so far of all the files fetched; on_step hears "downloading … (605 MB) from
    huggingface.co" once the size is known. A cancel between chunks raises DownloadCancelled.
    """
    src = source(model, tag)
    what = _what(model, tag)
    if src is None:
        raise ModelError(f"no pretrained weights named {tag!r} are known for {model}: {_tag_advice(model)}")
    found = cached_file(model, tag)
    if found is not None:
        return found
    if offline or offline_env():
        how = "--offline" if offline else "HF_HUB_OFFLINE=1"
        raise ModelError(
            f"pretrained weights {what} are not in the local cache and downloads are off ({how}): run once on a "
            f"connected machine without it, or use {OFFLINE_WAYS}"
        )
    _probe(what)
    files = [_head_needed(src, name, what) for name in src.needs if _cached(src.repo, name, src.revision) is None]
    files.append(_head_first(src, what))
    total = sum(f.size for f in files)
    on_step(f"downloading {what} ({_megabytes(total)}) from {host()}")
    done = 0

    def progress(n: int) -> None:
        if on_progress is not None:
            on_progress(done + n, total)

    for remote in files:
        _fetch(remote, what, progress, cancel)
        done += remote.size
    weights = cached_file(model, tag)
    if weights is None:  # written just now: only a cache changed under our feet gets here
        raise ModelError(f"pretrained weights {what} were downloaded but are not in the cache {cache_dir()}")
    return weights


def _tag_advice(model: str) -> str:
    if model.startswith(HF_HUB_PREFIX):
        return f"an {HF_HUB_PREFIX}ORG/REPO model takes --weights {HF_HUB_REVISION} (open_clip loads that revision)"
    tags = known_tags(model)
    if tags:
        shown = ", ".join(tags[:8]) + (", …" if len(tags) > 8 else "")
        return f"its tags are {shown} (open_clip.list_pretrained()); or use --weights PATH or --weights random"
    return (
        "open_clip has no pretrained weights for it (is it an open_clip model name? see open_clip.list_pretrained()): "
        "use --weights PATH for a local file or --weights random"
    )


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.0f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def _probe(what: str) -> None:
    """Can the hub (or the proxy in the way) be reached at all? ≤ PROBE_SECONDS, name resolution included."""
    url = urlparse(endpoint())
    proxy = urllib.request.getproxies().get(url.scheme or "https")
    if proxy and not urllib.request.proxy_bypass(url.hostname or ""):
        url = urlparse(proxy if "://" in proxy else f"http://{proxy}")
    target = (url.hostname or "", url.port or (443 if url.scheme == "https" else 80))
    outcome: list[BaseException | None] = []

    def connect() -> None:
        try:
            socket.create_connection(target, timeout=PROBE_SECONDS).close()
            outcome.append(None)
        except OSError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=connect, daemon=True)  # getaddrinfo has no timeout of its own
    thread.start()
    thread.join(PROBE_SECONDS)
    if not outcome or outcome[0] is not None:
        raise ModelError(
            f"pretrained weights {what} are not in the local cache and the model hub ({host()}) cannot be reached "
            f"from here (no network?): use {OFFLINE_WAYS}"
        )


@dataclass(frozen=True)
class Remote:
    """One file as the hub describes it (a HEAD on its resolve URL)."""

    repo: str
    filename: str
    revision: str  # the ref asked for ("main")
    commit: str
    etag: str  # sha256 (LFS) or git blob sha1: the blob's name in the cache and the checksum
    size: int
    url: str  # where the bytes are (the CDN a hub redirects LFS files to)


def _headers() -> dict[str, str]:
    headers = {"User-Agent": "xmr; open_clip", "Accept-Encoding": "identity"}  # identity: sizes are the file's
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the hub's 302 carries the file's metadata: the caller reads it


def _resolve_url(repo: str, revision: str, filename: str) -> str:
    return f"{endpoint()}/{repo}/resolve/{quote(revision, safe='')}/{quote(filename)}"


def _head_first(src: Source, what: str) -> Remote:
    """The first of the alternatives the hub has (open_clip's order: safetensors before the pickle)."""
    missing = []
    for name in src.files:
        remote = _head(src, name, what, missing_ok=True)
        if remote is not None:
            return remote
        missing.append(name)
    raise ModelError(
        f"the model hub ({host()}) has none of {', '.join(missing)} in {src.repo} for {what}: check the name against "
        "open_clip.list_pretrained()"
    )


def _head_needed(src: Source, filename: str, what: str) -> Remote:
    remote = _head(src, filename, what)
    assert remote is not None  # only a missing_ok HEAD says None
    return remote


def _head(src: Source, filename: str, what: str, missing_ok: bool = False) -> Remote | None:
    url = _resolve_url(src.repo, src.revision, filename)
    opener = urllib.request.build_opener(_NoRedirect)
    for _ in range(5):  # a renamed repo redirects relatively, on the hub itself; a file's bytes elsewhere
        request = urllib.request.Request(url, method="HEAD", headers=_headers())
        try:
            with opener.open(request, timeout=READ_TIMEOUT) as response:
                status, headers, location = response.status, response.headers, url
        except urllib.error.HTTPError as exc:
            status, headers = exc.code, exc.headers
            location = urljoin(url, headers.get("Location") or "")
            if status in (301, 302, 303, 307, 308) and not urlparse(headers.get("Location") or "").netloc:
                url = location
                continue
        except (OSError, http.client.HTTPException) as exc:
            raise ModelError(f"the model hub ({host()}) did not answer for {what}: {_reason(exc)}") from None
        break
    if status >= 400 and not headers.get("X-Error-Code") and not headers.get("X-Repo-Commit"):
        raise ModelError(  # a proxy or captive portal answering in the hub's place: offline in effect
            f"pretrained weights {what} are not in the local cache and the model hub ({host()}) cannot be reached "
            f"from here (something else answered, {status}: a proxy or captive portal?): use {OFFLINE_WAYS}"
        )
    if status == 404 and missing_ok:
        return None
    if status in (401, 403):
        raise ModelError(
            f"the model hub ({host()}) refused {src.repo} ({status}): it may not exist, or be gated or private "
            "(then set HF_TOKEN)"
        )
    if status >= 400:
        raise ModelError(f"the model hub ({host()}) answered {status} for {src.repo}/{filename} ({what})")
    return _remote(src, filename, headers, location, what)


def _remote(src: Source, filename: str, headers: Message, url: str, what: str) -> Remote:
    etag = (headers.get("X-Linked-Etag") or headers.get("ETag") or "").removeprefix("W/").strip('" ').lower()
    size = headers.get("X-Linked-Size") or headers.get("Content-Length") or ""
    commit = headers.get("X-Repo-Commit") or ""
    if not (_SHA256.match(etag) or _SHA1.match(etag)) or not size.isdigit() or not commit:
        raise ModelError(
            f"the model hub ({host()}) gave no checksum, size or commit for {src.repo}/{filename} ({what}): "
            "is HF_ENDPOINT a hub?"
        )
    return Remote(src.repo, filename, src.revision, commit, etag, int(size), url)


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return f"{type(reason).__name__}: {reason}"[:200]


@contextlib.contextmanager
def _lock(remote: Remote) -> Iterator[None]:
    """huggingface_hub's lock for this blob (.locks/REPO/ETAG.lock, flock): one writer, whoever downloads."""
    folder = cache_dir() / ".locks" / _repo_dir(remote.repo).name
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no flock; the blob is still written under a temp name and renamed
        yield
        return
    with open(folder / f"{remote.etag}.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fetch(remote: Remote, what: str, progress: Callable[[int], None], cancel: threading.Event | None) -> Path:
    """The blob fetched (resumed from a partial file), verified, then linked into its snapshot."""
    blobs = _repo_dir(remote.repo) / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    blob = blobs / remote.etag
    with _lock(remote):
        if not (blob.is_file() and blob.stat().st_size == remote.size):
            partial = blobs / f"{remote.etag}.incomplete"  # ours: huggingface_hub names its own per process
            digest = _download_verified(remote, partial, what, progress, cancel)
            if digest != remote.etag:
                partial.unlink(missing_ok=True)
                raise ModelError(
                    f"downloaded file {remote.repo}/{remote.filename} does not match the hub's checksum; nothing kept "
                    "(try again; if it persists, the hub or a proxy is serving other bytes)"
                )
            os.replace(partial, blob)
        progress(remote.size)
        return _link(remote, blob)


def _download_verified(
    remote: Remote, partial: Path, what: str, progress: Callable[[int], None], cancel: threading.Event | None
) -> str:
    """Bytes into `partial` until it holds `remote.size` of them; returns their checksum in the etag's kind
    (or "" for too many bytes). A connection that drops is resumed; RETRIES tries in a row without a byte fail."""
    failures = 0
    reached = [0]

    def seen(n: int) -> None:
        reached[0] = n
        progress(n)

    while True:
        have = partial.stat().st_size if partial.exists() else 0
        if have > remote.size:
            return ""
        if have == remote.size:
            return _checksum(partial, remote.etag)
        reached[0] = have
        error: BaseException | None = None
        try:
            _stream(remote, partial, have, seen, cancel)
        except (OSError, http.client.HTTPException) as exc:
            error = exc
        failures = 0 if reached[0] > have else failures + 1
        if failures >= RETRIES:
            why = f" ({_reason(error)})" if error is not None else ""
            raise ModelError(
                f"downloading {what} from {host()} stopped{why}; what arrived is kept and the next try resumes from it"
            )


def _stream(
    remote: Remote, partial: Path, have: int, progress: Callable[[int], None], cancel: threading.Event | None
) -> None:
    """Append what the server sends from byte `have` on (or rewrite, if it ignores the Range) until it stops."""
    headers = _headers()
    if urlparse(remote.url).netloc != urlparse(endpoint()).netloc:
        headers.pop("Authorization", None)  # the hub's token is for the hub, not for the CDN it redirects to
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(remote.url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=READ_TIMEOUT)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the server will not resume from here: start over
            partial.unlink(missing_ok=True)
            progress(0)
            return
        raise ModelError(f"the model hub ({host()}) answered {exc.code} for {remote.repo}/{remote.filename}") from None
    with response:
        mode = "ab"
        if have and response.status != 206:  # Range ignored: the whole file is coming
            mode, have = "wb", 0
        progress(have)
        with open(partial, mode) as out:
            while True:
                if cancel is not None and cancel.is_set():
                    raise DownloadCancelled(
                        f"download of {remote.repo}/{remote.filename} cancelled ({have:,} of {remote.size:,} bytes "
                        "kept: the next download resumes)"
                    )
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                have += len(chunk)
                progress(have)


def _checksum(path: Path, etag: str) -> str:
    """sha256 for an LFS etag; git's blob hash (sha1 of "blob SIZE\\0" + bytes) for a small file's."""
    h = hashlib.sha256() if _SHA256.match(etag) else hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _link(remote: Remote, blob: Path) -> Path:
    """snapshots/COMMIT/FILE → ../../blobs/ETAG and refs/REV = COMMIT: the layout huggingface_hub reads."""
    repo = _repo_dir(remote.repo)
    target = repo / "snapshots" / remote.commit / remote.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.symlink(os.path.relpath(blob, target.parent), tmp)
    except OSError:  # no symlinks here (Windows without developer mode): a hard link, else a copy
        try:
            os.link(blob, tmp)
        except OSError:
            import shutil

            shutil.copyfile(blob, tmp)
    os.replace(tmp, target)
    ref = repo / "refs" / remote.revision
    if remote.revision != remote.commit:
        ref.parent.mkdir(parents=True, exist_ok=True)
        ref_tmp = ref.with_name(f".{ref.name}.{os.getpid()}.tmp")
        ref_tmp.write_text(remote.commit)
        os.replace(ref_tmp, ref)
    return target
