"""int8 that checks itself: the agreement measure, the fp32 fallback, the per-CPU record, what the CLI says."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import unit
from xmr_gui.core.runtime.int8 import FORCE_FAIL_ENV, NEAR_TIE, RECIPES, agreement


def test_agreement_of_identical_vectors_passes():
    v = unit(np.random.default_rng(0).standard_normal((30, 16)).astype(np.float32))
    a = agreement(v, v.copy())
    assert a.passed and a.min_cosine == pytest.approx(1.0, abs=1e-6) and a.top10_moved == 0


def test_agreement_sees_a_moved_neighbour_and_a_low_cosine():
    v = unit(np.random.default_rng(1).standard_normal((30, 16)).astype(np.float32))
    w = v.copy()
    w[3] = unit(v[3:4] + 0.5 * v[7:8])[0]  # one image drifts towards another: cosine falls, neighbours change
    a = agreement(v, w)
    assert not a.passed and a.min_cosine < 0.999 and a.top10_moved >= 1
    # compared with a naive loop over queries
    s_ref, s_new = v @ v.T, w @ w.T
    moved = 0
    for i in range(30):
        order_ref = [j for j in np.argsort(-s_ref[i]) if j != i][:10]
        order_new = [j for j in np.argsort(-s_new[i]) if j != i][:10]
        kth = s_ref[i, order_ref[-1]]
        diff = set(order_ref) ^ set(order_new)
        moved += bool(diff) and any(abs(s_ref[i, j] - kth) > NEAR_TIE for j in diff)
    assert a.top10_moved == moved


def test_a_near_tie_at_the_tenth_place_may_swap():
    # query 0; items 1..9 clearly in, 10 and 11 tied at the edge (1e-4 apart), the rest far
    q = np.array([1.0, 0.0, 0.0])
    sims = [0.99 - 0.01 * i for i in range(9)] + [0.5, 0.4999] + [-0.5] * 5
    rows = [q] + [np.array([s, np.sqrt(1 - s * s), 0.0]) for s in sims]
    ref = np.array(rows, np.float32)
    test = ref.copy()
    test[10], test[11] = ref[11], ref[10]  # the tie flips
    a = agreement(ref, test, k=10)
    assert a.near_tie_swaps >= 1


@pytest.fixture
def private_cache(tmp_path, monkeypatch, tiny_spec):
    """A cache holding the shared fp32 export of xmr-tiny but no int8 check yet (saves the torch export)."""
    from xmr_gui.core.runtime.clip_onnx import ensure_export, export_dir

    shared = ensure_export(tiny_spec)
    cache = tmp_path / "cache"
    target = cache / "onnx" / export_dir(tiny_spec.identity()).name
    shutil.copytree(shared, target, ignore=shutil.ignore_patterns("visual.int8*", "int8.json", ".*"))
    monkeypatch.setenv("XMR_CACHE_DIR", str(cache))
    return target


def test_failing_check_falls_back_to_fp32_says_so_once_and_records_why(private_cache, tmp_path, monkeypatch, capsys):
    from conftest import write_photos
    from xmr_gui.cli import main

    monkeypatch.setenv(FORCE_FAIL_ENV, "1")
    photos = tmp_path / "p"
    write_photos(photos, 6)
    db = tmp_path / "db"
    args = ["index", str(photos), "--db", str(db), "--model", "xmr-tiny", "--weights", "random", "--json"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "no int8 recipe agrees with fp32 on this CPU" in err and "using fp32" in err
    assert "checking int8 against fp32" in err  # the preparation said what it was doing
    record = json.loads((private_cache / "int8.json").read_text())
    assert record["passed"] is False
    assert sorted(t["recipe"] for t in record["tried"]) == sorted(r.name for r in RECIPES)  # every one tried
    assert main(args) == 0
    assert "no int8 recipe" not in capsys.readouterr().err  # said once, not on every run
    assert main(["doctor", "--db", str(db), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["library"]["precision"] == "fp32"
    assert "no int8 recipe agrees" in info["library"]["reason"]
    assert info["cpu"]["flags"] == [f for f in info["cpu"]["flags"] if f]  # the CPU features that mattered
    assert main(["doctor", "--db", str(db)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("cpu\t") and "precision\tfp32\t" in text

    # an explicit --precision int8 still gives int8, with the measured agreement printed
    assert main(args[:-1] + ["--precision", "int8", "--db", str(tmp_path / "db8")]) == 0
    err = capsys.readouterr().err
    assert "int8 asked for, served although no int8 recipe agrees" in err and "min cosine" in err
    assert main(["doctor", "--db", str(tmp_path / "db8"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["library"]["precision"] == "int8"


def test_the_check_runs_again_on_another_kind_of_cpu(private_cache, tiny_spec):
    from xmr_gui.core.runtime.clip_onnx import int8_record
    from xmr_gui.core.runtime.prepare import prepare_model

    first = prepare_model(tiny_spec, "auto", "cpu")
    assert first.checked_now and int8_record(private_cache) is not None
    assert not prepare_model(tiny_spec, "auto", "cpu").checked_now  # kept for this CPU
    record = json.loads((private_cache / "int8.json").read_text())
    record["cpu_signature"] = "x86_64:avx2,avx512f,avx512_vnni"  # as if the cache came from another machine
    (private_cache / "int8.json").write_text(json.dumps(record))
    assert int8_record(private_cache) is None
    again = prepare_model(tiny_spec, "auto", "cpu")
    assert again.checked_now and again.int8_check["recipe"] == first.int8_check["recipe"]


def test_an_altered_int8_tower_is_checked_again(private_cache, tiny_spec):
    from xmr_gui.core.runtime.clip_onnx import int8_record
    from xmr_gui.core.runtime.prepare import prepare_model

    if prepare_model(tiny_spec, "auto", "cpu").int8_check["recipe"] is None:
        pytest.skip("no int8 tower could be built here")
    data = private_cache / "visual.int8.onnx.data"
    data.write_bytes(data.read_bytes()[:-10] + b"0123456789")
    assert int8_record(private_cache) is None


def test_recipe_order_follows_the_cpu():
    from xmr_gui.core.runtime.int8 import recipe_order

    vnni = recipe_order({"model": "x", "machine": "x86_64", "flags": ["avx2", "avx512f", "avx512_vnni"]})
    avx2 = recipe_order({"model": "x", "machine": "x86_64", "flags": ["avx2", "fma"]})
    assert vnni[0].name == "u8s8" and avx2[0].name == "u8s8-rr"  # saturating kernels are not tried first
    assert sorted(r.name for r in vnni) == sorted(r.name for r in avx2) == sorted(r.name for r in RECIPES)


def test_an_agreeing_recipe_that_is_not_faster_runs_fp32(private_cache, tiny_spec, monkeypatch):
    from xmr_gui.core.runtime import int8, prepare

    record = prepare.prepare_model(tiny_spec, "auto", "cpu").int8_check
    if not record["passed"]:
        pytest.skip("no int8 recipe agrees here")
    monkeypatch.setattr(int8, "MIN_SPEEDUP", 1e9)  # no measured speed-up can be enough
    slow = prepare.prepare_model(tiny_spec, "auto", "cpu")
    assert slow.spec.precision == "fp32" and "not faster here" in slow.reason and slow.fell_back
    assert prepare.prepare_model(tiny_spec, "int8", "cpu").spec.precision == "int8"  # asked for: served
    monkeypatch.setattr(int8, "MIN_SPEEDUP", 0.0)
    assert prepare.prepare_model(tiny_spec, "auto", "cpu").spec.precision == "int8"
