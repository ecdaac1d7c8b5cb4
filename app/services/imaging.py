"""Decoding and validating uploaded images (model inputs are made in app.services.preprocess).

Uploads are checked from their bytes (never the file name or content type) before
anything is decoded (``app.services.imagefiles``): only PNG, JPEG, WebP, GIF and BMP are
opened, and files whose structure costs seconds of CPU are refused. The pixel count
and the aspect ratio are read from the header and refused before any decoding;
Pillow's decompression-bomb warning is an error. Decoding memory is bounded too:
JPEGs decode at reduced size, large images are shrunk before any conversion, and
16-bit images are converted to 8-bit a band of rows at a time.
"""

from __future__ import annotations

import io
import struct
import warnings

import numpy as np
from PIL import Image

from app.errors import ApiError
from app.services.imagefiles import costly_structure, sniff

#: format name -> Pillow plugin name, detected from magic bytes.
ALLOWED = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
MAX_PIXELS = 16_777_216  # 16.7 MP, e.g. 4096 x 4096
#: A JPEG decoded with DCT scaling (``draft_to``) costs far less than its header says:
#: its header may declare this many times MAX_PIXELS (a 24 MP phone photo) as long as
#: what is actually decoded stays under MAX_PIXELS.
JPEG_DRAFT_FACTOR = 2
#: The longer side may be at most this many times the shorter (a panorama is about 4).
#: A 1 x 16,000,000 strip is under the pixel limit, yet no integer shrink keeps its
#: short side, and every later step would work on 16 M pixels (871 MB, 3.6 s).
MAX_ASPECT = 64
#: Above this many pixels a decoded image is first shrunk by an integer factor
#: (box filter, like JPEG's DCT scaling) so that later steps stay cheap.
REDUCE_ABOVE = 1_048_576
#: 16-bit images are converted to 8-bit this many pixels at a time (8 MB in float64).
BAND_PIXELS = 1_048_576
#: Grey modes wider than 8 bits (converted to "L" by :func:`_grey_to_8bit`).
GREY_WIDE = ("I;16", "I;16B", "I;16L", "I", "F")
#: EXIF orientation -> the transpose that shows the image upright (as ImageOps.exif_transpose).
UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
           4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
           6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_90}

# Once, for the whole process (catch_warnings per call is not thread-safe). The
# explicit pixel check in open_image is stricter still, so it holds either way.
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


def open_image(data: bytes, *, max_pixels: int = MAX_PIXELS, draft_to: int | None = None) -> tuple[Image.Image, str]:
    """Open and fully decode an upload; returns (RGB or L image, format).

    ``im.info["original_size"]`` is the file's own (width, height), upright.
    EXIF orientation is applied, the first frame of an animation is used, alpha is
    composited on white, CMYK / 16-bit / palette images are converted.
    ``draft_to`` is the smallest side the caller needs: JPEG decoding skips straight
    to a reduced size (DCT scaling), which makes a 12 MP photo cheap when the model
    wants 32 x 32; other formats above 1 MP are reduced by an integer factor after
    decoding, never below ``draft_to``.
    """
    if not data:
        raise ApiError(422, "The uploaded file is empty.")
    fmt = sniff(data)
    if fmt is None:
        raise ApiError(
            415,
            "This file is not an image ConvLab accepts: upload a PNG, JPEG, WebP, GIF or BMP "
            "(the format is read from the file's bytes, not its name).",
        )
    costly = costly_structure(data, fmt)
    if costly:
        raise ApiError(415 if fmt == "BMP" else 422, costly)
    header_limit = max_pixels * (JPEG_DRAFT_FACTOR if fmt == "JPEG" and draft_to else 1)
    try:
        im: Image.Image = Image.open(io.BytesIO(data), formats=[fmt])
        width, height = im.size
        if width < 1 or height < 1:
            raise ApiError(422, "The image has no pixels (its width or height is 0).")
        if width * height > header_limit:
            raise ApiError(
                413,
                f"The image is {width} x {height} = {width * height:,} pixels; "
                f"the limit is {header_limit:,} pixels.",
            )
        if max(width, height) > MAX_ASPECT * min(width, height):
            raise ApiError(
                422,
                f"The image is {width} x {height} pixels, more than {MAX_ASPECT} times as "
                f"{'wide as it is tall' if width > height else 'tall as it is wide'}; "
                "crop it closer to a square.",
            )
        # A freshly opened image is on its first frame; only that frame is decoded
        # (n_frames would walk every frame of a GIF).
        if fmt == "JPEG" and draft_to:
            im.draft("RGB" if im.mode not in ("L", "1") else "L", (draft_to, draft_to))
            if im.size[0] * im.size[1] > max_pixels:
                raise ApiError(
                    413,
                    f"The image is {width} x {height} = {width * height:,} pixels; even "
                    f"decoded at reduced size it has more than {max_pixels:,} pixels.",
                )
        im.load()
        orientation = im.getexif().get(0x0112, 1)
        rotated = orientation in (5, 6, 7, 8)
        # Shrink first, then convert and turn upright: each step then copies few pixels.
        im = to_rgb_or_l(_reduce(im, draft_to))
        if orientation in UPRIGHT:
            im = im.transpose(UPRIGHT[orientation])
        # The size as the person sees the file (before DCT scaling or reduction).
        im.info["original_size"] = (height, width) if rotated else (width, height)
    except ApiError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ApiError(
            413,
            f"The image's header declares more than {max_pixels:,} pixels, the limit; "
            "it was refused before decoding.",
        ) from exc
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError,
            struct.error, ZeroDivisionError, MemoryError) as exc:
        raise ApiError(
            422, f"The {fmt} file could not be decoded; it may be truncated or corrupt."
        ) from exc
    return im, fmt


def _reduce(im: Image.Image, draft_to: int | None) -> Image.Image:
    """Shrink a large decoded image by an integer factor of at most 8 (box filter, like
    JPEG's DCT scaling), keeping both sides at least ``draft_to``.

    The work goes a band of rows at a time (crop, convert to a mode ``reduce`` takes,
    reduce, paste), so the only full-size copy is the decoded image itself: Pillow's
    own ``reduce`` of an RGBA image first converts all of it (64 MB at 4096 x 4096).
    """
    w, h = im.size
    if not draft_to or w * h <= REDUCE_ABOVE:
        return im
    factor = min(w // draft_to, h // draft_to, 8)
    if factor < 2:
        return im
    hi = _grey_top(im) if im.mode in GREY_WIDE else None
    rows = max(factor, BAND_PIXELS // w // factor * factor)
    out: Image.Image | None = None
    for y in range(0, h, rows):
        part = _reducible(im.crop((0, y, w, min(h, y + rows))), hi).reduce(factor)
        if out is None:
            out = Image.new(part.mode, (-(-w // factor), -(-h // factor)))
        out.paste(part, (0, y // factor))
    assert out is not None
    return out


def _reducible(im: Image.Image, hi: float | None = None) -> Image.Image:
    """Any mode -> one that ``Image.reduce`` takes: L, LA, RGB or RGBA (alpha kept, a
    transparent colour made alpha, 16-bit and wider grey scaled to 8-bit)."""
    mode = im.mode
    if mode in ("L", "RGB") and "transparency" in im.info or mode in ("P", "PA", "RGBa"):
        return im.convert("RGBA" if "transparency" in im.info or mode != "P" else "RGB")
    if mode in ("L", "LA", "RGB", "RGBA"):
        return im
    if mode in ("1", "La"):
        return im.convert("L" if mode == "1" else "LA")
    if mode in GREY_WIDE:
        return _grey_to_8bit(im, hi)
    return im.convert("RGB")


def to_rgb_or_l(im: Image.Image) -> Image.Image:
    """Any Pillow mode -> "L" or "RGB", alpha composited on white, 16-bit scaled to 8-bit."""
    mode = im.mode
    if mode in ("L", "RGB") and "transparency" in im.info:
        # A PNG tRNS colour: those pixels are transparent, so they show the white paper.
        return _on_white(im).convert(mode)
    if mode in ("L", "RGB"):
        return im
    if mode == "1":
        return im.convert("L")
    if mode in GREY_WIDE:
        return _grey_to_8bit(im)
    if mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    elif mode == "P":
        return im.convert("RGB")
    if mode == "CMYK":
        return im.convert("RGB")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        return _on_white(im)
    return im.convert("RGB")


def _grey_top(im: Image.Image) -> float:
    """What white is in a wide grey image: 65535 for 16-bit, else 255 unless a value passes it."""
    top = im.getextrema()[1]
    return 65535.0 if im.mode.startswith("I;16") or float(top) > 255 else 255.0  # type: ignore[arg-type]


def _grey_to_8bit(im: Image.Image, hi: float | None = None) -> Image.Image:
    """16-bit, 32-bit or float grey -> "L": v / hi * 255, rounded (``hi`` from
    :func:`_grey_top` by default), a band of :data:`BAND_PIXELS` at a time: a float64
    copy of a whole 4096 x 4096 image would be 128 MB, and each arithmetic step more."""
    w, h = im.size
    hi = hi or _grey_top(im)
    out = np.empty((h, w), np.uint8)
    rows = max(1, BAND_PIXELS // w)
    for y in range(0, h, rows):
        band = np.asarray(im.crop((0, y, w, min(h, y + rows))), dtype=np.float64)
        out[y:y + rows] = np.clip(band / hi * 255.0 + 0.5, 0, 255)
    return Image.fromarray(out, "L")


def _on_white(im: Image.Image) -> Image.Image:
    """RGB: the image over white paper, by its alpha (or its transparent colour)."""
    rgba = im.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def png_bytes(arr: np.ndarray) -> bytes:
    """uint8 HxW or HxWx3 array -> PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(arr)).save(buf, format="PNG")
    return buf.getvalue()
