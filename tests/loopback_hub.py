"""A loopback model hub for tests: a real HTTP server of our own that speaks the part of the Hugging Face hub's
protocol a download uses (HEAD answered with the commit, checksum and size; LFS files redirected to a "CDN" on
another port, honouring Range), serving a seeded random-weights tiny open_clip model as an `hf-hub:` repo.
Fixtures `server` (one per module) and `hub` (HF_ENDPOINT pointed at it, an empty HF_HOME); used by
tests/core/runtime/test_hub.py and the window's model tests."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

REPO = "xmr-test/tiny"
MODEL = f"hf-hub:{REPO}"
COMMIT = hashlib.sha1(b"xmr-test commit").hexdigest()
WEIGHTS = "open_clip_model.safetensors"


def _tiny_checkpoint() -> dict[str, bytes]:
    """open_clip_config.json and seeded random weights (safetensors) of the packaged xmr-tiny architecture."""
    import open_clip
    import torch
    from safetensors.torch import save

    from xmr_gui.core.runtime.clip_torch import register_config
    from xmr_gui.core.runtime.spec import ModelSpec

    spec = ModelSpec.parse("xmr-tiny", "random")
    register_config(spec)
    torch.manual_seed(1234)
    model = open_clip.create_model("xmr-tiny", pretrained=None)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    config = {"model_cfg": json.loads(spec.config_json or "{}"), "preprocess_cfg": {}}
    return {"open_clip_config.json": json.dumps(config).encode(), WEIGHTS: save(state)}


class Hub:
    """What the server serves (the files of each commit; `main` names the newest) and what it was asked; tests set
    `cut_once` (close a GET after N bytes, the first time), `corrupt` (serve other bytes than the checksum says)
    or `push` (new weights, published as a new commit on main right after the next HEAD)."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.original = dict(files)
        self.commits = {COMMIT: dict(files)}
        self.main = COMMIT
        self.cdn = {hashlib.sha256(data).hexdigest(): data for data in files.values()}  # every version served
        self.log: list[tuple[str, str, str | None]] = []
        self.cut_once: int | None = None
        self.corrupt = False
        self.push: bytes | None = None
        self.port = 0
        self.cdn_port = 0  # another origin: huggingface_hub follows a redirect on the hub's own, not to a CDN

    @property
    def files(self) -> dict[str, bytes]:
        return self.commits[self.main]

    def reset(self) -> None:
        self.log.clear()
        self.cut_once, self.corrupt, self.push = None, False, None
        self.commits, self.main = {COMMIT: dict(self.original)}, COMMIT

    def publish(self, weights: bytes) -> None:
        self.main = hashlib.sha1(weights).hexdigest()
        self.commits[self.main] = {**self.original, WEIGHTS: weights}
        self.cdn[hashlib.sha256(weights).hexdigest()] = weights

    def file_requests(self) -> list[tuple[str, str, str | None]]:
        return [entry for entry in self.log if "/resolve/" in entry[1] or "/cdn/" in entry[1]]


def _handler(hub: Hub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_HEAD(self) -> None:
            self._serve(body=False)

        def do_GET(self) -> None:
            self._serve(body=True)

        def _serve(self, body: bool) -> None:
            hub.log.append((self.command, self.path, self.headers.get("Range")))
            parts = self.path.lstrip("/").split("/")
            if parts[0] == "cdn" and len(parts) == 2 and parts[1] in hub.cdn:
                return self._bytes(hub.cdn[parts[1]], body, cdn=True)
            commit = (hub.main if parts[3] == "main" else parts[3]) if len(parts) == 5 else ""
            files = hub.commits.get(commit, {})
            if len(parts) == 5 and "/".join(parts[:2]) == REPO and parts[2] == "resolve" and parts[4] in files:
                data = files[parts[4]]
                if self.command == "HEAD" and hub.push is not None:  # answered as it was, then main moves on
                    hub.publish(hub.push)
                    hub.push = None
                if parts[4].endswith(".safetensors"):  # an LFS file: metadata here, bytes at the CDN
                    sha = hashlib.sha256(data).hexdigest()
                    self.send_response(302)
                    self.send_header("Location", f"http://127.0.0.1:{hub.cdn_port}/cdn/{sha}")
                    self.send_header("X-Repo-Commit", commit)
                    self.send_header("X-Linked-Etag", f'"{sha}"')
                    self.send_header("X-Linked-Size", str(len(data)))
                    self.send_header("ETag", '"not-the-sha"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                return self._bytes(data, body, cdn=False, commit=commit)
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None

        def _bytes(self, data: bytes, body: bool, cdn: bool, commit: str = "") -> None:
            if hub.corrupt and cdn:
                data = data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]
            start = 0
            wanted = self.headers.get("Range")
            if wanted and wanted.startswith("bytes=") and wanted.endswith("-"):
                start = int(wanted[6:-1])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            if not cdn:
                self.send_header("X-Repo-Commit", commit)
                git = hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()
                self.send_header("ETag", f'"{git}"')
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            if not body:
                return
            rest = data[start:]
            if hub.cut_once is not None and cdn:  # the connection drops part way, once
                rest, hub.cut_once = rest[: hub.cut_once], None
                self.wfile.write(rest)
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(rest)

    return Handler


@pytest.fixture(scope="module")
def server():
    hub = Hub(_tiny_checkpoint())
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub)) for _ in ("hub", "cdn")]
    for httpd in servers:
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
    hub.port, hub.cdn_port = (httpd.server_address[1] for httpd in servers)
    yield hub
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def hub(server, tmp_path, monkeypatch):
    """The loopback hub as HF_ENDPOINT, an empty hub cache as HF_HOME."""
    import huggingface_hub.constants

    server.reset()
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    # huggingface_hub reads HF_HUB_OFFLINE once, at import: an earlier test of this process may have had it set
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.port}")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    return server
