from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from xmr_gui.core.runtime.images import ImageSkipped, load_image, load_pixels


def png_claiming(path: Path, width: int, height: int) -> None:
    """A tiny PNG whose header claims width×height pixels (a decompression bomb's calling card)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b""))


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda p: p.write_bytes(b""), "empty file"),
        (lambda p: p.write_text("<html>not a photo</html>"), "not an image"),
        (lambda p: png_claiming(p, 50_000, 50_000), "decompression bomb"),
    ],
)
def test_bad_files_are_refused_with_a_reason(tmp_path, make, reason):
    path = tmp_path / "bad.jpg"
    make(path)
    with pytest.raises(ImageSkipped, match=reason):
        load_image(path)


def test_truncated_jpeg_is_refused(tmp_path):
    good = tmp_path / "good.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 300, 3), dtype=np.uint8)).save(good)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ImageSkipped, match="truncated"):
        load_image(bad)


def test_missing_file(tmp_path):
    with pytest.raises(ImageSkipped, match="vanished"):
        load_image(tmp_path / "nope.jpg")


def test_exif_orientation_is_applied(tmp_path):
    rng = np.random.default_rng(1)
    arr = rng.integers(0, 255, (40, 80, 3), dtype=np.uint8)
    arr[:, :40] = 0  # left half black: rotation is visible
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    Image.fromarray(arr).save(tmp_path / "rot.png", exif=exif)
    upright = Image.fromarray(arr).transpose(Image.Transpose.ROTATE_270)
    loaded = load_image(tmp_path / "rot.png")
    assert loaded.size == upright.size == (40, 80)
    assert np.array_equal(np.asarray(loaded), np.asarray(upright))


@pytest.mark.parametrize("mode", ["CMYK", "I;16", "P", "LA", "L", "RGBA", "1"])
def test_every_mode_becomes_rgb(tmp_path, mode):
    im = Image.new("RGB", (64, 48), (200, 30, 30)).convert(mode if mode != "I;16" else "L")
    if mode == "I;16":
        im = Image.fromarray((np.full((48, 64), 40000)).astype(np.uint16))
    if mode == "P":
        im.info["transparency"] = 0
    suffix = ".jpg" if mode == "CMYK" else ".png"
    im.save(tmp_path / f"x{suffix}")
    out = load_image(tmp_path / f"x{suffix}")
    assert out.mode == "RGB" and out.size == (64, 48)


def test_large_jpeg_is_decoded_reduced_with_draft(tmp_path):
    Image.new("RGB", (2400, 1600), (10, 120, 200)).save(tmp_path / "big.jpg")
    im = load_image(tmp_path / "big.jpg", min_side=224)
    assert min(im.size) >= 224 and im.size[0] <= 600  # 1/4 or 1/8 scale, not 2400 wide


def test_thin_panorama_is_cropped_before_resize(tmp_path):
    Image.new("RGB", (20000, 10), (1, 2, 3)).save(tmp_path / "thin.png")
    px = load_pixels(tmp_path / "thin.png", 32)
    assert px.shape == (32, 32, 3) and px.dtype == np.uint8
    assert tuple(px[16, 16]) == (1, 2, 3)


@pytest.mark.parametrize("suffix", [".heic", ".avif"])
def test_heic_and_avif_photos_are_indexed_and_thumbnailed(tmp_path, suffix):
    """The `heic` extra (pillow-heif) reads iPhone HEIC photos; AVIF is Pillow's own. Same pixels as a PNG copy."""
    from xmr_gui.core.runtime.images import heif_supported, load_image, load_pixels

    if suffix == ".heic" and not heif_supported():
        pytest.skip("pillow-heif (the heic extra) is not installed")
    if suffix not in Image.registered_extensions():
        pytest.skip(f"this Pillow build cannot write {suffix}")
    yy, xx = np.mgrid[0:120, 0:160]
    arr = np.stack([xx * 255 // 160, yy * 255 // 120, np.full_like(xx, 90)], -1).astype(np.uint8)
    Image.fromarray(arr).save(tmp_path / f"photo{suffix}", quality=95)
    Image.fromarray(arr).save(tmp_path / "photo.png")
    got, ref = load_pixels(tmp_path / f"photo{suffix}", 32), load_pixels(tmp_path / "photo.png", 32)
    assert got.shape == ref.shape == (32, 32, 3)
    assert np.abs(got.astype(int) - ref.astype(int)).mean() < 6  # lossy codec, same picture
    assert load_image(tmp_path / f"photo{suffix}").size == (160, 120)  # what the window's thumbnails use
