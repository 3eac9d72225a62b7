"""Read images: a checked file (or uploaded bytes) in, an RGB uint8 array out.

Used by meme classification (its tagger, CLIP side and explanations) and any view that takes an image upload.

* ``load_image(source, max_bytes=MAX_IMAGE_BYTES)`` — any format Pillow reads (PNG, JPEG, GIF's first frame, WebP,
  BMP …) as RGB uint8 ``[H, W, 3]``; an absent, empty, oversized, corrupt, not-an-image or smaller than 8 × 8 px
  input raises ``WorkbenchError`` naming the file and the problem.
* ``IMAGE_EXTS`` — the suffixes an image upload may have.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from workbench import WorkbenchError

MAX_IMAGE_BYTES = 20 * 1024 * 1024
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp")   # the suffixes an image upload may have
MIN_SIDE = 8


def load_image(source, *, max_bytes: int = MAX_IMAGE_BYTES) -> np.ndarray:
    """An image file (path or bytes) as an RGB uint8 array ``[H, W, 3]``; clear errors for bad input."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(source, (bytes, bytearray)):
        data, name = bytes(source), "uploaded image"
    else:
        path = Path(source)
        name = str(path)
        if not path.is_file():
            raise WorkbenchError(f"image not found: {name}")
        size = path.stat().st_size
        if size == 0:
            raise WorkbenchError(f"image file is empty: {name}")
        if size > max_bytes:
            raise WorkbenchError(f"image file is too large: {name} ({size / 2**20:.1f} MiB > "
                                 f"{max_bytes / 2**20:.0f} MiB)")
        data = path.read_bytes()
    if not data:
        raise WorkbenchError(f"image is empty: {name}")
    if len(data) > max_bytes:
        raise WorkbenchError(f"image is too large: {name} ({len(data) / 2**20:.1f} MiB)")
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            rgb = np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise WorkbenchError(f"cannot decode image {name}: not a readable image file ({exc})") from None
    if rgb.ndim != 3 or min(rgb.shape[:2]) < MIN_SIDE:
        raise WorkbenchError(f"image {name} is too small ({rgb.shape[1]}×{rgb.shape[0]} px)")
    return rgb


__all__ = ["IMAGE_EXTS", "MAX_IMAGE_BYTES", "load_image"]
