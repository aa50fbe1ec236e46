"""`xmr index --ray` refusals that need no cluster: an address nothing answers, --device cuda. The runs on a real
local Ray cluster are in tests/core/indexing/test_ray_job.py (one cluster for them all)."""

from __future__ import annotations

import socket
import time

from conftest import run_cli

TINY = ["--model", "xmr-tiny", "--weights", "random"]


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_address_nothing_answers_is_one_line_at_once(tmp_path, photos, capsys):
    address = f"127.0.0.1:{free_loopback_port()}"
    started = time.perf_counter()
    code, out, err = run_cli(capsys, "index", str(photos), "--db", str(tmp_path / "db"), "--ray", address, *TINY)
    assert code == 1 and out == ""
    assert err.strip().splitlines() == [
        f"xmr: error: cannot reach a Ray cluster at {address} (Connection refused): is `ray start --head` running "
        "there?"
    ]
    assert time.perf_counter() - started < 10
    assert not (tmp_path / "db").exists()  # said before the model is prepared or the library made


def test_an_address_that_is_not_one_is_said_so(tmp_path, photos, capsys):
    code, _, err = run_cli(capsys, "index", str(photos), "--ray", "my-cluster", *TINY)
    assert code == 1 and "give a cluster address as HOST:PORT" in err and "Traceback" not in err


def test_ray_with_cuda_is_refused(tmp_path, photos, capsys):
    code, _, err = run_cli(capsys, "index", str(photos), "--ray", "--device", "cuda", *TINY)
    assert code == 1 and "leave out --device cuda" in err
