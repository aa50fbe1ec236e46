"""xmr beside rclip on the same photos, model and cores: every whole command a terminal user runs.

    ../shared/peers/setup                       # once: rclip 3.3.0, its ONNX models, 500 camera-sized JPEGs
    python bench/vs_rclip.py [--n 500] [--xmr .venv/bin/xmr] [--checkpoint FILE] [--sweep 8,16,32,64]

Extends `../shared/peers/compare.py` (index + text search wall time) with peak RSS per process (os.wait4),
image search with a photo outside the library (both tools encode it), `xmr describe`, a search through a
checkpoint (`--checkpoint`, against the same search without it) and a batch-size sweep for `xmr index`.
Both tools start from fresh databases; xmr's ONNX export is made before timing, as rclip's ONNX files are
made by `setup`. Each figure is a median of --repeat runs, interleaved xmr/rclip so drift hits both.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PEERS = Path(os.environ.get("PEERS_DIR", "/tmp/xmr-peers"))
MODEL = ["--model", "ViT-B-32-256", "--weights", "random"]


def run(cmd: list[str], **kw: object) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one whole command, which must succeed."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)  # type: ignore[call-overload]
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}): {err[-1500:]}")
    return wall, usage.ru_maxrss / 1024


def median_pair(cmd: list[str], repeat: int, **kw: object) -> tuple[float, float]:
    runs = [run(cmd, **kw) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--xmr", default=shutil.which("xmr") or str(Path(sys.executable).with_name("xmr")))
    p.add_argument("--checkpoint", help="a .xmr checkpoint on ViT-B-32-256/random (e.g. from `xmr train`)")
    p.add_argument("--sweep", default="", help="comma-separated batch sizes for an `xmr index` sweep")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--sweep-repeat", type=int, default=3)
    p.add_argument("--skip-peer", action="store_true", help="only the --sweep (no rclip runs)")
    args = p.parse_args(argv)
    rclip = PEERS / "venv" / "bin" / "rclip"
    if not rclip.exists():
        sys.exit("run ../shared/peers/setup first")
    work = Path(tempfile.mkdtemp(prefix="xmr-vs-rclip-"))
    photos = work / "photos"
    photos.mkdir()
    for f in sorted(os.listdir(PEERS / "photos"))[: args.n]:
        os.symlink(PEERS / "photos" / f, photos / f)
    from PIL import Image

    outside = work / "query.jpg"  # an image query neither tool has indexed: both must encode it
    with Image.open(PEERS / "photos" / sorted(os.listdir(PEERS / "photos"))[0]) as im:
        im.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(outside, quality=90)
    rdata = work / "rclip-data"
    shutil.copytree(PEERS / "rclip-data", rdata, symlinks=True)
    renv = dict(os.environ, RCLIP_DATADIR=str(rdata), HF_HUB_OFFLINE="1")
    xdb = str(work / "xdb")
    rows: list[tuple[str, str, str, str]] = []
    if args.skip_peer:
        sweep(args, work, photos)
        shutil.rmtree(work)
        return 0

    subprocess.run(
        [
            sys.executable,
            "-c",
            "from xmr_gui.core.runtime.spec import ModelSpec; "
            "from xmr_gui.core.runtime.clip_onnx import ensure_export; "
            "[ensure_export(ModelSpec.parse('ViT-B-32-256', 'random').with_precision(p)) "
            "for p in ('int8', 'fp32')]",
        ],
        check=True,
    )
    r_index = run([str(rclip), "-f", "-t", "1", "a photo"], cwd=photos, env=renv)
    x_index = run([args.xmr, "index", str(photos), "--db", xdb, *MODEL, "-q"])
    rows.append(
        (
            "index (fresh db)",
            f"{r_index[0]:.1f} s, {args.n / r_index[0]:.2f} img/s, {r_index[1]:.0f} MB",
            f"{x_index[0]:.1f} s, {args.n / x_index[0]:.2f} img/s, {x_index[1]:.0f} MB",
            f"{r_index[0] / x_index[0]:.2f}×",
        )
    )

    def side_by_side(name: str, rcmd: list[str], xcmd: list[str]) -> None:
        r_runs, x_runs = [], []
        for _ in range(args.repeat):  # interleaved
            r_runs.append(run(rcmd, cwd=photos, env=renv))
            x_runs.append(run(xcmd))
        r = (statistics.median(t for t, _ in r_runs), max(m for _, m in r_runs))
        x = (statistics.median(t for t, _ in x_runs), max(m for _, m in x_runs))
        rows.append(
            (
                name,
                f"{r[0]:.2f} s, {r[1]:.0f} MB",
                f"{x[0]:.2f} s, {x[1]:.0f} MB",
                f"{r[0] / x[0]:.2f}× (RSS {x[1] / r[1]:.2f})",
            )
        )

    rtext = [str(rclip), "-n", "-f", "-t", "5", "a red car"]
    side_by_side("text search", rtext, [args.xmr, "search", "a red car", "--db", xdb, "-k", "5"])
    side_by_side(
        "image search (photo not indexed)",
        [str(rclip), "-n", "-f", "-t", "5", str(outside)],
        [args.xmr, "search", "--image", str(outside), "--db", xdb, "-k", "5"],
    )
    run([args.xmr, "describe", str(outside), "--db", xdb])  # the vocabulary's vectors, encoded once and cached
    side_by_side("describe (xmr) vs text search (rclip)", rtext, [args.xmr, "describe", str(outside), "--db", xdb])

    if args.checkpoint:
        plain = [args.xmr, "search", "a red car", "--db", xdb, "-k", "5"]
        with_ckpt = plain + ["--checkpoint", args.checkpoint]
        run(with_ckpt)  # the checkpoint space's index, built once from stored vectors
        a, b = [], []
        for _ in range(args.repeat):
            a.append(run(plain))
            b.append(run(with_ckpt))
        t_plain, t_ckpt = statistics.median(t for t, _ in a), statistics.median(t for t, _ in b)
        rows.append(
            (
                "xmr search --checkpoint vs without",
                f"without {t_plain:.2f} s",
                f"with {t_ckpt:.2f} s, {max(m for _, m in b):.0f} MB",
                f"overhead {t_ckpt / t_plain - 1:+.1%}",
            )
        )

    print(f"{args.n} photos, ViT-B-32-256 (random weights), median of {args.repeat}, {time.strftime('%Y-%m-%d')}")
    print("| command | rclip | xmr | xmr speed vs rclip |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")

    sweep(args, work, photos)
    shutil.rmtree(work)
    return 0


def sweep(args: argparse.Namespace, work: Path, photos: Path) -> None:
    if args.sweep:
        sizes = [int(b) for b in args.sweep.split(",")]
        runs: dict[int, list[tuple[float, float]]] = {bs: [] for bs in sizes}
        for _ in range(args.sweep_repeat):  # sizes interleaved, so drift spreads over all of them
            for bs in sizes:
                db = work / f"sweep-{bs}"
                runs[bs].append(
                    run([args.xmr, "index", str(photos), "--db", str(db), *MODEL, "-q", "--batch-size", str(bs)])
                )
                shutil.rmtree(db)
        print(
            f"\n| xmr index --batch-size (median of {args.sweep_repeat}) | wall | img/s | peak RSS |\n|---|---|---|---|"
        )
        for bs in sizes:
            wall = statistics.median(t for t, _ in runs[bs])
            print(f"| {bs} | {wall:.1f} s | {args.n / wall:.2f} | {max(m for _, m in runs[bs]):.0f} MB |")


if __name__ == "__main__":
    raise SystemExit(main())
