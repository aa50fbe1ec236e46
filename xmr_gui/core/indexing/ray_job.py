"""Index a folder as a Ray Data job: Ray actors decode and encode, this process writes (`xmr index FOLDER --ray`).

The folder is diffed against the catalog exactly as `indexer.index_folder` does it (the same `update_library`), and
only the files to (re)index become the rows of a Ray dataset. `map_batches` runs them through a pool of actors, each
of which loads the image encoder once and turns a batch of rows into (path, vector) or (path, skip reason) with the
single-process path's own `indexer.load`. The driver iterates the results as they stream in and commits each batch
through the same `indexer.Writer` (the catalog and the vector index keep one writer), so progress, skip reasons and
the guarantees after a crash or a cancel are the single-process path's: what was committed stays, and a re-run
encodes only the rest.

Workers must reach what the driver names: the photos by their paths, the model's ONNX export in the driver's
cache folder (`xmr paths`) and a weights file or checkpoint the model is named by. On a local cluster they are the
same files; on a multi-machine cluster they must be at the same paths on every node (a shared mount). Ray is
imported only here, inside the functions that use it.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..base import paths
from ..base.defaults import BATCH_SIZE
from ..base.errors import XmrError
from ..base.progress import Step, quiet
from ..runtime.spec import Runtime
from ..store.library import Library
from .indexer import Found, IndexReport, Progress, Writer, load, update_library

CONNECT_TIMEOUT = 3.0  # seconds to reach a cluster's address before saying it cannot be reached


class ClusterError(XmrError):
    """A Ray cluster that cannot be reached or started, or Ray missing from this install."""


def index_folder_on_ray(
    lib: Library,
    folder: str | os.PathLike[str],
    *,
    address: str | None = None,
    batch_size: int = BATCH_SIZE,
    actors: int | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_step: Step = quiet,
    cancel: threading.Event | None = None,
    save_every: float = 60.0,
) -> IndexReport:
    """Bring the library up to date with `folder`, encoding on a Ray cluster; the same report as `index_folder`.

    address: an existing cluster ('HOST:PORT', 'ray://HOST:PORT' or 'auto'); None starts a local one for the run,
    sized to this machine (a process already connected to Ray keeps its connection). actors: encoder actors, one
    CPU each (default: the cluster's CPUs). on_step hears the cluster being started; cancel is seen between batches.
    """

    def encode(writer: Writer, todo: list[Found]) -> None:
        with ray_cluster(address, on_step=on_step):
            _encode_on_ray(writer, todo, batch_size, actors, cancel)

    return update_library(lib, folder, encode, on_progress=on_progress, cancel=cancel, save_every=save_every)


@contextmanager
def ray_cluster(address: str | None = None, *, num_cpus: int | None = None, on_step: Step = quiet) -> Iterator[None]:
    """Connected to Ray for the block: to `address`, else to a local cluster started here (and stopped after);
    a process already connected keeps its connection. ClusterError, in one line, when it cannot be."""
    if address:
        check_reachable(address)
    ray = _import_ray()
    if ray.is_initialized():
        yield
        return
    options: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
    if address:
        on_step(f"connecting to the Ray cluster at {address}")
        try:
            ray.init(address=address, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ClusterError(f"cannot connect to the Ray cluster at {address}: {exc}") from None
    else:
        cpus = num_cpus or os.cpu_count() or 1
        on_step(f"starting a local Ray cluster ({cpus} CPUs; this takes several seconds)")
        ray.init(address="local", num_cpus=cpus, include_dashboard=False, **options)  # never a running one
    try:
        yield
    finally:
        ray.shutdown()


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """ClusterError unless something listens at a 'HOST:PORT' or 'ray://HOST:PORT' address ('auto' and 'local' are
    Ray's own words, left to it). Ray itself retries an address nothing listens on for minutes."""
    if address in ("auto", "local"):
        return
    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ClusterError(f"--ray {address}: give a cluster address as HOST:PORT (e.g. 10.0.0.5:6379)")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise ClusterError(
            f"cannot reach a Ray cluster at {address} ({reason}): is `ray start --head` running there?"
        ) from None


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401  - Ray Core alone is not enough
    except ImportError:
        raise ClusterError("--ray needs Ray Data: pip install 'xmr[scale]' (or 'ray[data]')") from None
    return ray


class EncodeActor:
    """One Ray actor: loads the image encoder once, then decodes and encodes batches of rows.

    A row is a file to index (path, size, mtime_ns, problem); the answer keeps them and adds `reason` (why the file
    is skipped, '' when it was encoded) and `vector` (zeros for a skipped file)."""

    def __init__(self, spec_json: str, runtime: str, cache_dir: str, threads: int) -> None:
        from ..runtime.factory import load_encoder
        from ..runtime.spec import ModelSpec

        # The model's ONNX export is read where the driver prepared it (a shared path on a multi-machine cluster).
        os.environ["XMR_CACHE_DIR"] = cache_dir
        self.encoder = load_encoder(ModelSpec.from_json(spec_json), "cpu", runtime=runtime, threads=threads)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = _founds(batch)
        loaded = [load(found, self.encoder.image_size) for found in rows]
        vectors = np.zeros((len(rows), self.encoder.dim), np.float32)
        ok = [i for i, pixels in enumerate(loaded) if not isinstance(pixels, str)]
        if ok:
            vectors[ok] = self.encoder.encode_images(np.stack([loaded[i] for i in ok]))
        reasons = np.array([pixels if isinstance(pixels, str) else "" for pixels in loaded], dtype=object)
        return {**batch, "reason": reasons, "vector": vectors}


def _founds(batch: dict[str, np.ndarray]) -> list[Found]:
    return [
        Found(str(path), int(size), int(mtime), str(problem) or None)
        for path, size, mtime, problem in zip(
            batch["path"], batch["size"], batch["mtime_ns"], batch["problem"], strict=True
        )
    ]


def _encode_on_ray(
    writer: Writer, todo: list[Found], batch_size: int, actors: int | None, cancel: threading.Event | None
) -> None:
    """Run `todo` through a pool of EncodeActors and hand each answer to `writer` as it arrives (in any order)."""
    import ray

    written: set[str] = set()
    dataset = _dataset(todo, writer.lib, batch_size, actors)
    answers = iter(dataset.iter_batches(batch_size=None, batch_format="numpy", prefetch_batches=1))
    try:
        for answer in answers:
            if cancel is not None and cancel.is_set():
                writer.cancel([f for f in todo if f.path not in written])
                return
            done = _founds(answer)
            encoded = [i for i, reason in enumerate(answer["reason"]) if not reason]
            for found, reason in zip(done, answer["reason"], strict=True):
                if reason:
                    writer.skip(found, str(reason))
            writer.commit([done[i] for i in encoded], answer["vector"][encoded])
            written.update(f.path for f in done)
    except ray.exceptions.RayActorError as exc:  # a worker that cannot start (no xmr, no model there) or was lost
        raise ClusterError(
            f"a Ray worker stopped: {_last_line(exc)}. Every node needs xmr installed and the photos, the model's "
            f"export ({paths.cache_dir()}) and any weights file at the same paths; what was written is kept, so a "
            "re-run resumes"
        ) from None
    finally:
        close = getattr(answers, "close", None)  # a generator: closing it shuts the executor and its actors down
        if close is not None:
            close()


def _dataset(todo: list[Found], lib: Library, batch_size: int, actors: int | None) -> Any:
    """The Ray dataset of `todo`'s rows mapped through EncodeActors (one CPU each, default: one per cluster CPU)."""
    import ray
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the caller's progress is the writer's
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # it would warn that its bars are off
    cpus = ray.cluster_resources().get("CPU", 1)  # type: ignore[no-untyped-call]
    rows = [{"path": f.path, "size": f.size, "mtime_ns": f.mtime_ns, "problem": f.problem or ""} for f in todo]
    # One block per batch: a block is one actor call, so a coarser split would give one actor all the work and
    # hand its answers over only at the end.
    items = ray.data.from_items(rows, override_num_blocks=-(-len(rows) // batch_size))
    with warnings.catch_warnings():
        # max_restarts=0: Ray 2.60 logs an error line for every actor pool otherwise, as Ray Data hands its actors
        # their arguments through the object store (ray-project/ray#53727); it warns that this argument is
        # deprecated. A lost actor then stops the run, which a re-run resumes.
        warnings.simplefilter("ignore", DeprecationWarning)
        return items.map_batches(
            EncodeActor,
            fn_constructor_kwargs={
                "spec_json": lib.spec.to_json(),
                "runtime": Runtime.chosen().value,
                "cache_dir": str(paths.cache_dir()),
                "threads": 1,
            },
            batch_size=batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=actors or max(1, int(cpus))),
            num_cpus=1,
            max_restarts=0,
        )


def _last_line(exc: BaseException) -> str:
    """The worker's own error from the text Ray hands over (its traceback): 'ModelError: what to do'."""
    lines = [line.strip() for line in re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).splitlines() if line.strip()]
    last = lines[-1] if lines else type(exc).__name__
    return re.sub(r"^(?:\w+\.)+(\w+: )", r"\1", last)  # xmr_gui.core.runtime.spec.ModelError: ... -> ModelError: ...
