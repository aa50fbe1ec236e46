"""Pretrained CLIP weights fetched once into the Hugging Face hub cache, through huggingface_hub.

`download(model, tag)` puts the files `hub.source` names into the cache, where open_clip finds them. It reports
the total size before the first byte and bytes as they arrive, stops between chunks when cancelled, resumes a
partial file with an HTTP Range request (after a dropped connection, or the next time after a cancel), and
checks each file against the hub's checksum (the sha256 of an LFS file, the git blob hash of a small one)
before it becomes visible in the cache. Offline (the `offline` argument or HF_HUB_OFFLINE=1) it makes no
request at all; with no network it fails after a short reachability probe (≤ 5 s), not minutes of retries.

huggingface_hub (imported here, lazily: ~0.4 s) does what it can: the file's URL, the HEAD that names its
commit, checksum, size and where its bytes are (following the hub's own redirects, classifying its errors,
sending the token), the HTTP session the bytes come over, the lock file of each blob, and the cache layout
(`hf_hub_download`, asked at the commit, links each verified blob into its snapshot; one more HEAD per file).
What it lacks, and is written here: `hf_hub_download` (2.x) has no cancel hook and reports progress only every
10 MB (its read size: ~40 s between updates on a 2 Mbit/s line), deletes a partial file rather than resuming it
in a later call, and checks the size, not the checksum. So the bytes are streamed here, from the URL and over
the session it gives, into blobs/ETAG.incomplete, which survives a cancel and which its own downloads (to
per-process names) never touch; and refs/REVISION is written here (see `_link`).
"""

from __future__ import annotations

import hashlib
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..base import locks
from ..base.progress import Step, quiet
from . import hub
from .spec import ModelError

PROBE_SECONDS = 5.0
READ_TIMEOUT = 30.0
RETRIES = 3  # a connection that drops mid-file is resumed this many times in a row without a byte, then given up
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")


class DownloadCancelled(ModelError):
    """The user stopped a download; what arrived is kept and the next download resumes from it."""


def _what(model: str, tag: str) -> str:
    return f"{model}" if model.startswith(hub.HF_HUB_PREFIX) else f"{model}/{tag}"


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
    src = hub.source(model, tag)
    what = _what(model, tag)
    if src is None:
        raise ModelError(f"no pretrained weights named {tag!r} are known for {model}: {_tag_advice(model)}")
    found = hub.cached_file(model, tag)
    if found is not None:
        return found
    if offline or hub.offline_env():
        raise ModelError(_downloads_off(what, "--offline" if offline else "HF_HUB_OFFLINE=1"))
    _probe(what)
    files = _describe(src, what)
    missing = [f for f in files if not _has_blob(f)]
    total = sum(f.size for f in missing)
    on_step(f"downloading {what} ({_megabytes(total)}) from {hub.host()}")
    done = 0

    def progress(n: int) -> None:
        if on_progress is not None:
            on_progress(done + n, total)

    for remote in missing:
        _fetch(remote, what, progress, cancel)
        done += remote.size
    _link(files, what)
    weights = hub.cached_file(model, tag)
    if weights is None:  # linked just now: only a cache changed under our feet gets here
        raise ModelError(f"pretrained weights {what} were downloaded but are not in the cache {hub.cache_dir()}")
    return weights


def _downloads_off(what: str, how: str) -> str:
    return (
        f"pretrained weights {what} are not in the local cache and downloads are off ({how}): run once on a "
        f"connected machine without it, or use {hub.OFFLINE_WAYS}"
    )


def _tag_advice(model: str) -> str:
    if model.startswith(hub.HF_HUB_PREFIX):
        revision = hub.HF_HUB_REVISION
        return f"an {hub.HF_HUB_PREFIX}ORG/REPO model takes --weights {revision} (open_clip loads that revision)"
    tags = hub.known_tags(model)
    if tags:
        shown = ", ".join(tags[:8]) + (", …" if len(tags) > 8 else "")
        return f"its tags are {shown} (open_clip.list_pretrained()); or use --weights PATH or --weights random"
    return (
        "open_clip has no pretrained weights for it (is it an open_clip model name? see open_clip.list_pretrained()): "
        "use --weights PATH for a local file or --weights random"
    )


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.0f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def _unreachable(what: str, why: str = "no network?") -> ModelError:
    return ModelError(
        f"pretrained weights {what} are not in the local cache and the model hub ({hub.host()}) cannot be reached "
        f"from here ({why}): use {hub.OFFLINE_WAYS}"
    )


def _probe(what: str) -> None:
    """Can the hub (or the proxy in the way) be reached at all? ≤ PROBE_SECONDS, name resolution included:
    huggingface_hub's timeouts do not bound the name lookup, which can hang for tens of seconds offline."""
    import urllib.request

    url = urlsplit(hub.endpoint())
    proxy = urllib.request.getproxies().get(url.scheme or "https")
    if proxy and not urllib.request.proxy_bypass(url.hostname or ""):
        url = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
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
        raise _unreachable(what)


@dataclass(frozen=True)
class Remote:
    """One file as the hub describes it (huggingface_hub's HfFileMetadata, checked, with where it belongs)."""

    repo: str
    filename: str
    revision: str  # the ref asked for ("main")
    commit: str  # what it named when asked: every file of a download is asked for at this one
    etag: str  # sha256 (LFS) or git blob sha1: the blob's name in the cache and the checksum
    size: int
    url: str  # where the bytes are (the CDN a hub redirects LFS files to)


def _describe(src: hub.Source, what: str) -> list[Remote]:
    """Every file `src` needs, then the first of its alternatives the hub has (open_clip's order: safetensors
    before the pickle), all of one commit: the first answer's, so a push to the repo meanwhile cannot leave the
    config of one commit beside the weights of another."""
    files: list[Remote] = []
    commit = src.revision
    for name in src.needs:
        remote = _metadata(src, name, what, commit)
        assert remote is not None  # only a missing_ok HEAD says None
        files.append(remote)
        commit = remote.commit
    for name in src.files:
        remote = _metadata(src, name, what, commit, missing_ok=True)
        if remote is not None:
            return [*files, remote]
    raise ModelError(
        f"the model hub ({hub.host()}) has none of {', '.join(src.files)} in {src.repo} for {what}: check the name "
        "against open_clip.list_pretrained()"
    )


def _metadata(src: hub.Source, filename: str, what: str, revision: str, missing_ok: bool = False) -> Remote | None:
    """huggingface_hub's HEAD on the file at `revision`, its errors said in one line (None: missing, when that is
    ok)."""
    import httpx2  # huggingface_hub's HTTP client, whose connection errors it lets through
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
    )

    url = hf_hub_url(src.repo, filename, revision=revision, endpoint=hub.endpoint())
    try:
        meta = get_hf_file_metadata(url, timeout=READ_TIMEOUT, endpoint=hub.endpoint())
    except OfflineModeIsEnabled:  # HF_HUB_OFFLINE was set when huggingface_hub was imported, and unset since
        raise ModelError(_downloads_off(what, "HF_HUB_OFFLINE=1")) from None
    except HfHubHTTPError as exc:
        status = exc.response.status_code
        if not exc.response.headers.get("X-Error-Code") and not exc.response.headers.get("X-Repo-Commit"):
            raise _unreachable(what, f"something else answered, {status}: a proxy or captive portal?") from None
        if isinstance(exc, EntryNotFoundError) and missing_ok:
            return None
        if isinstance(exc, RepositoryNotFoundError) or status in (401, 403):
            raise ModelError(
                f"the model hub ({hub.host()}) refused {src.repo} ({status}): it may not exist, or be gated or "
                "private (then set HF_TOKEN)"
            ) from None
        raise ModelError(f"the model hub ({hub.host()}) answered {status} for {src.repo}/{filename} ({what})") from None
    except (httpx2.TransportError, OSError) as exc:
        raise ModelError(f"the model hub ({hub.host()}) did not answer for {what}: {_reason(exc)}") from None
    etag, size, commit = (meta.etag or "").lower(), meta.size, meta.commit_hash
    if not (_SHA256.match(etag) or _SHA1.match(etag)) or size is None or not commit:
        raise ModelError(
            f"the model hub ({hub.host()}) gave no checksum, size or commit for {src.repo}/{filename} ({what}): "
            "is HF_ENDPOINT a hub?"
        )
    return Remote(src.repo, filename, src.revision, commit, etag, size, meta.location)


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


def _blob(remote: Remote) -> Path:
    return hub.repo_dir(remote.repo) / "blobs" / remote.etag


def _has_blob(remote: Remote) -> bool:
    blob = _blob(remote)
    return blob.is_file() and blob.stat().st_size == remote.size


def _fetch(remote: Remote, what: str, progress: Callable[[int], None], cancel: threading.Event | None) -> None:
    """The blob fetched (resumed from a partial file) and verified, under huggingface_hub's lock for it: its
    downloads and ours of the same file wait for each other."""
    blob = _blob(remote)
    with locks.hold(hub.cache_dir() / ".locks" / hub.repo_dir(remote.repo).name / f"{remote.etag}.lock"):
        if not _has_blob(remote):  # else another process fetched it while this one waited
            blob.parent.mkdir(parents=True, exist_ok=True)
            partial = blob.with_name(f"{remote.etag}.incomplete")
            digest = _download_verified(remote, partial, what, progress, cancel)
            if digest != remote.etag:
                partial.unlink(missing_ok=True)
                raise ModelError(
                    f"downloaded file {remote.repo}/{remote.filename} does not match the hub's checksum; nothing kept "
                    "(try again; if it persists, the hub or a proxy is serving other bytes)"
                )
            partial.replace(blob)
    progress(remote.size)


def _link(files: list[Remote], what: str) -> None:
    """The verified blobs linked into their commit's snapshot by huggingface_hub, then refs/REVISION = that commit.

    hf_hub_download is asked at the commit, whose files never change: it finds each blob and downloads nothing
    (one HEAD each). Asked by the ref instead, it would write the ref itself but could bring a newer commit's files
    than those verified here, so the ref (one line: the commit) is written here.
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    for remote in files:
        try:
            hf_hub_download(
                remote.repo, remote.filename, revision=remote.commit, cache_dir=hub.cache_dir(), endpoint=hub.endpoint()
            )
        except (HfHubHTTPError, LocalEntryNotFoundError) as exc:  # the hub went away since its first answer
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ModelError(f"the model hub ({hub.host()}) did not answer for {what}: {first[:200]}") from None
    remote = files[-1]
    if remote.revision != remote.commit:
        from ..base.files import atomic_write_text

        atomic_write_text(hub.repo_dir(remote.repo) / "refs" / remote.revision, remote.commit)


def _download_verified(
    remote: Remote, partial: Path, what: str, progress: Callable[[int], None], cancel: threading.Event | None
) -> str:
    """Bytes into `partial` until it holds `remote.size` of them; returns their checksum in the etag's kind
    (or "" for too many bytes). A connection that drops is resumed; RETRIES tries in a row without a byte fail."""
    import httpx2  # huggingface_hub's HTTP client: what its session raises when a connection drops

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
        except (OSError, httpx2.TransportError) as exc:
            error = exc
        failures = 0 if reached[0] > have else failures + 1
        if failures >= RETRIES:
            why = f" ({_reason(error)})" if error is not None else ""
            raise ModelError(
                f"downloading {what} from {hub.host()} stopped{why}; what arrived is kept and the next try resumes "
                "from it"
            )


def _stream(
    remote: Remote, partial: Path, have: int, progress: Callable[[int], None], cancel: threading.Event | None
) -> None:
    """Append what the server sends from byte `have` on (or rewrite, if it ignores the Range) until it stops,
    over huggingface_hub's session, as the chunks arrive."""
    from huggingface_hub.errors import HfHubHTTPError
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    headers = build_hf_headers()
    headers["Accept-Encoding"] = "identity"  # the sizes and ranges are the file's
    if urlsplit(remote.url).netloc != urlsplit(hub.endpoint()).netloc:
        headers.pop("authorization", None)  # the hub's token is for the hub, not for the CDN it redirects to
    if have:
        headers["Range"] = f"bytes={have}-"
    with get_session().stream("GET", remote.url, headers=headers, timeout=READ_TIMEOUT) as response:
        if response.status_code == 416 and have:  # the server will not resume from here: start over
            partial.unlink(missing_ok=True)
            progress(0)
            return
        try:
            hf_raise_for_status(response)
        except HfHubHTTPError:
            status = response.status_code
            raise ModelError(
                f"the model hub ({hub.host()}) answered {status} for {remote.repo}/{remote.filename}"
            ) from None
        mode = "ab"
        if have and response.status_code != 206:  # Range ignored: the whole file is coming
            mode, have = "wb", 0
        progress(have)
        with open(partial, mode) as out:
            for chunk in response.iter_bytes():
                if cancel is not None and cancel.is_set():
                    raise DownloadCancelled(
                        f"download of {remote.repo}/{remote.filename} cancelled ({have:,} of {remote.size:,} bytes "
                        "kept: the next download resumes)"
                    )
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
