"""A hostile photo folder, generated (never committed): every case a user's disk can hold, with what must happen.

`make_hostile(folder)` returns {relative path: expected} where expected is "ok" (indexed exactly once) or a
substring of the skip reason `xmr skipped` must show. Cases that depend on the filesystem (symlinks,
permissions as root, path length) say so themselves.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

NAME_MAX = 255


def _photo(seed: int, size: tuple[int, int] = (120, 90)) -> Image.Image:
    rng = np.random.default_rng(seed)
    w, h = size
    arr = np.zeros((h, w, 3), np.uint8)
    arr[:] = rng.integers(0, 255, 3)
    arr[: h // 2, : w // 3] = rng.integers(0, 255, 3)  # an asymmetric block: rotations are visible
    arr[h // 2 :, w // 2 :] = rng.integers(0, 255, 3)
    return Image.fromarray(arr)


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b"")
    )


def _bytes(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


# The inverse of each EXIF orientation: what the camera stored, given the upright picture.
ORIENT_STORE = {
    1: [],
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_90],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_270],
}


def make_hostile(folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    cases: dict[str, str] = {}

    def put(name: str, data: bytes, expected: str) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        cases[name] = expected

    good_jpeg = _bytes(_photo(1, (800, 600)), "JPEG", quality=90)
    good_png = _bytes(_photo(2), "PNG")
    put("plain.jpg", good_jpeg, "ok")
    put("truncated.jpg", good_jpeg[: len(good_jpeg) // 2], "truncated")
    put("truncated.png", good_png[: len(good_png) // 2], "truncated")
    put("zero.jpg", b"", "empty file")
    put("text.jpg", b"just some notes, not a photo\n" * 20, "not an image")
    put("page.jpg", b"<!doctype html><html><body>hello</body></html>", "not an image")
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("a.txt", "zip")
    put("archive.jpg", zbuf.getvalue(), "not an image")
    put("bomb.png", _png_claiming(50_000, 50_000), "decompression bomb")
    put("huge_header.png", _png_claiming(12_000, 12_000), "too large")
    put("tiny_1x1.png", _bytes(Image.new("RGB", (1, 1), (9, 9, 9)), "PNG"), "ok")
    put("panorama_20000x10.png", _bytes(Image.new("RGB", (20000, 10), (1, 2, 3)), "PNG"), "ok")
    put("cmyk.jpg", _bytes(_photo(3).convert("CMYK"), "JPEG"), "ok")
    put("deep16.png", _bytes(Image.fromarray((np.arange(64 * 48).reshape(48, 64) * 20).astype(np.uint16)), "PNG"), "ok")
    pal = _photo(4).convert("P")
    put("palette_transparent.png", _bytes(pal, "PNG", transparency=0), "ok")
    put("gray_alpha_LA.png", _bytes(_photo(5).convert("LA"), "PNG"), "ok")
    put("rgba.png", _bytes(_photo(6).convert("RGBA"), "PNG"), "ok")
    put("one_bit.png", _bytes(_photo(7).convert("1"), "PNG"), "ok")
    put("gray.jpg", _bytes(_photo(8).convert("L"), "JPEG"), "ok")
    frames = [_photo(10 + i).convert("P") for i in range(3)]
    gbuf = io.BytesIO()
    frames[0].save(gbuf, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    put("animated.gif", gbuf.getvalue(), "ok")
    tbuf = io.BytesIO()
    pages = [_photo(20 + i) for i in range(3)]
    pages[0].save(tbuf, format="TIFF", save_all=True, append_images=pages[1:])
    put("multipage.tiff", tbuf.getvalue(), "ok")
    put("photo.webp", _bytes(_photo(30), "WEBP"), "ok")
    put("bitmap.bmp", _bytes(_photo(31), "BMP"), "ok")
    put("progressive.jpg", _bytes(_photo(32, (640, 480)), "JPEG", progressive=True), "ok")
    put("UPPER.JPG", _bytes(_photo(33), "JPEG"), "ok")
    put("really_a_jpeg.png", _bytes(_photo(34), "JPEG"), "ok")
    # EXIF orientations 1-8, each beside the same picture stored upright (tests compare their vectors).
    upright = _photo(40, (160, 100))
    for o, ops in ORIENT_STORE.items():
        stored = upright
        for op in ops:
            stored = stored.transpose(op)
        exif = Image.Exif()
        exif[0x0112] = o
        put(f"exif/orient_{o}.jpg", _bytes(stored, "JPEG", quality=95, exif=exif.tobytes()), "ok")
    put("exif/upright.jpg", _bytes(upright, "JPEG", quality=95), "ok")
    broken = bytearray(_bytes(_photo(41), "JPEG", exif=b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff"))
    put("broken_exif.jpg", bytes(broken), "ok")
    put(".hidden.jpg", good_jpeg, "absent")
    put(".hidden_dir/inside.jpg", good_jpeg, "absent")
    put("notes.txt", b"not an image name: never looked at", "absent")
    put(os.fsdecode(b"caf\xe9_latin1.jpg"), _bytes(_photo(42), "JPEG"), "ok")
    put("é" * 60 + ".jpg", _bytes(_photo(43), "JPEG"), "ok")  # 120 bytes of UTF-8
    put("L" * (NAME_MAX - 4) + ".jpg", _bytes(_photo(44), "JPEG"), "ok")  # the longest name allowed
    deep = Path(*(["d" * 200] * 18))  # ~3.6k characters: close to PATH_MAX (4096) with the tmp prefix
    put(str(deep / "deep.jpg"), _bytes(_photo(45), "JPEG"), "ok")
    (folder / "photo.jpg").mkdir()  # a directory with an image name
    put("photo.jpg/inside_dir.jpg", _bytes(_photo(46), "JPEG"), "ok")
    os.symlink(folder / "missing_target.jpg", folder / "dangling.jpg")
    cases["dangling.jpg"] = "broken symlink"
    (folder / "loop").mkdir()
    os.symlink(folder / "loop", folder / "loop" / "again")  # a folder symlink loop: never followed
    os.symlink(folder / "plain.jpg", folder / "link_to_plain.jpg")
    cases["link_to_plain.jpg"] = "ok"
    locked = folder / "locked.jpg"
    locked.write_bytes(_bytes(_photo(47), "JPEG"))
    locked.chmod(0)
    cases["locked.jpg"] = "ok" if os.geteuid() == 0 else "permission denied"  # root reads anything
    return cases
