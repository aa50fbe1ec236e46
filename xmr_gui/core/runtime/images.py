"""Safe, fast image loading: every failure becomes an `ImageSkipped` with a reason a user can read."""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from ..base.errors import XmrError

# Decompression-bomb guard: 100 MP is above every consumer camera sensor; a PNG that claims more is
# refused from its header, before a single pixel is decoded.
MAX_PIXELS = 100_000_000
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif"}
)
# Truncated files are refused, never silently padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False


HEIF_SUFFIXES = frozenset({".heic", ".heif"})
HEIF_MISSING = "HEIC/HEIF photo: install the heic extra"  # how such skips begin; the indexer retries them


@functools.cache
def heif_supported() -> bool:
    """HEIC/HEIF (iPhone photos) through pillow-heif when the `heic` extra is installed; AVIF is Pillow's own.

    Registered on the first .heic/.heif file, so commands that never meet one skip its 50 ms import."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


class ImageSkipped(XmrError):
    """An image that cannot be indexed; `str(exc)` is the reason shown to the user."""


def is_image_name(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def _open(path: str | os.PathLike[str]) -> Image.Image:
    if Path(path).suffix.lower() in HEIF_SUFFIXES:
        heif_supported()
    try:
        with warnings.catch_warnings():
            # Pillow warns above 89 MP and refuses above 179 MP; between the two our own cap decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(path)
    except FileNotFoundError:
        raise ImageSkipped("file vanished before it could be read") from None
    except IsADirectoryError:
        raise ImageSkipped("is a directory, not a file") from None
    except PermissionError:
        raise ImageSkipped("permission denied") from None
    except Image.DecompressionBombError as exc:
        raise ImageSkipped(f"decompression bomb refused: {exc}") from None
    except UnidentifiedImageError:
        raise ImageSkipped(_unidentified_reason(path)) from None
    except OSError as exc:
        raise ImageSkipped(f"cannot open: {exc.strerror or exc}") from None


def _unidentified_reason(path: str | os.PathLike[str]) -> str:
    try:
        size = os.path.getsize(path)
    except OSError:
        size = -1
    if size == 0:
        return "empty file (0 bytes)"
    if Path(path).suffix.lower() in HEIF_SUFFIXES and not heif_supported():
        return HEIF_MISSING + " to read it (pip install 'xmr[heic]'; the next index run retries it)"
    return "not an image (unrecognised file format)"


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode → 8-bit RGB; transparency is composited on white, 16-bit is rescaled."""
    if im.mode == "RGB":
        return im
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        im = Image.fromarray(np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8), "L")
    elif im.mode == "F":
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        im = Image.fromarray(((arr - lo) * (255.0 / max(hi - lo, 1e-12))).astype(np.uint8), "L")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")


def load_image(path: str | os.PathLike[str], min_side: int = 0) -> Image.Image:
    """Open `path` as an upright 8-bit RGB image.

    min_side: the size the caller will scale to; JPEGs are decoded at the smallest DCT scale that keeps
    both sides at least this large (Pillow's `draft`), which is several times cheaper than a full decode.
    Raises ImageSkipped with a readable reason on any failure.
    """
    im = _open(path)
    try:
        width, height = im.size
        if width <= 0 or height <= 0:
            raise ImageSkipped(f"invalid dimensions {width}x{height}")
        if width * height > MAX_PIXELS:
            raise ImageSkipped(f"too large: {width}x{height} pixels is over the {MAX_PIXELS // 1_000_000} MP cap")
        if min_side and im.format == "JPEG" and min(width, height) >= 2 * min_side:
            im.draft("RGB", (min_side, min_side))
        try:
            im.load()
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ImageSkipped(f"corrupt or truncated image data: {exc}") from None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "Corrupt EXIF data": the photo itself is fine
                im = ImageOps.exif_transpose(im) or im
        except Exception:  # noqa: BLE001 - a broken EXIF block must not lose the photo itself
            pass
        try:
            return _to_rgb(im)
        except (OSError, ValueError) as exc:
            raise ImageSkipped(f"unsupported pixel format {im.mode}: {exc}") from None
    except ImageSkipped:
        im.close()
        raise
    except MemoryError:
        im.close()
        raise ImageSkipped("out of memory while decoding") from None


def square_pixels(im: Image.Image, size: int) -> np.ndarray:
    """Centre square crop resized to size×size, as uint8 HWC; crops first so thin panoramas stay cheap."""
    width, height = im.size
    side = min(width, height)
    left, top = (width - side) / 2, (height - side) / 2
    box = (left, top, left + side, top + side)
    out = im.resize((size, size), Image.Resampling.BICUBIC, box=box, reducing_gap=3.0)
    return np.asarray(out, dtype=np.uint8)


def load_pixels(path: str | os.PathLike[str], size: int) -> np.ndarray:
    """`load_image` + `square_pixels`: the model input for one file, uint8 (size, size, 3)."""
    return square_pixels(load_image(path, min_side=size), size)
