"""Decoding and validating uploaded images, and turning them into model inputs.

Uploads are checked from their bytes (never the file name or content type): only
PNG, JPEG, WebP, GIF and BMP are opened; the pixel count is read from the header
and refused before any decoding; Pillow's decompression-bomb warning is an error.
Structures that make a small file cost seconds of CPU are refused from the bytes
too: PNGs with a flood of chunks, JPEGs with a flood of progressive scans, and
run-length-compressed BMPs (Pillow decodes those in pure Python).
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps

from app.errors import ApiError

#: format name -> Pillow plugin name, detected from magic bytes.
ALLOWED = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
MAX_PIXELS = 16_777_216  # 16.7 MP, e.g. 4096 x 4096
#: A JPEG decoded with DCT scaling (``draft_to``) costs far less than its header says:
#: its header may declare this many times MAX_PIXELS (a 24 MP phone photo) as long as
#: what is actually decoded stays under MAX_PIXELS.
JPEG_DRAFT_FACTOR = 2
#: libjpeg re-reads every coefficient for each progressive scan: a 100 KB file with
#: thousands of scans takes minutes. Real encoders write about 10.
MAX_JPEG_SCANS = 32
#: Pillow handles each PNG chunk in Python (~3 us): a 10 MB flood of empty chunks
#: costs seconds. A 10 MB PNG in libpng's 8 KB IDAT chunks has about 1,300.
MAX_PNG_CHUNKS = 10_000
#: Above this many pixels a decoded image is first shrunk by an integer factor
#: (box filter, like JPEG's DCT scaling) so that later steps stay cheap.
REDUCE_ABOVE = 1_048_576

# Once, for the whole process (catch_warnings per call is not thread-safe). The
# explicit pixel check in open_image is stricter still, so it holds either way.
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


def sniff(data: bytes) -> str | None:
    """The image format from the first bytes, or None when it is not an allowed one."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:2] == b"BM" and len(data) >= 26:
        return "BMP"
    return None


def _costly_structure(data: bytes, fmt: str) -> str | None:
    """Why this file would cost far more CPU than its pixel count suggests, or None."""
    if fmt == "PNG":
        pos, count, end = 8, 0, len(data)
        while pos + 8 <= end:
            count += 1
            if count > MAX_PNG_CHUNKS:
                return (f"The PNG file has more than {MAX_PNG_CHUNKS:,} chunks; "
                        "save it again with an ordinary image editor.")
            length, kind = struct.unpack_from(">I4s", data, pos)
            if kind == b"IEND" or not kind.isalpha():
                break  # the end, or not a chunk: Pillow refuses a corrupt file itself
            pos += 12 + length
    elif fmt == "JPEG":
        # 0xFF 0xDA (start of scan) cannot occur inside entropy-coded data (0xFF is
        # stuffed there), so this counts scans, plus any in an EXIF thumbnail.
        scans = data.count(b"\xff\xda")
        if scans > MAX_JPEG_SCANS:
            return (f"The JPEG file has {scans} progressive scans (at most {MAX_JPEG_SCANS} "
                    "are accepted); save it again as an ordinary JPEG or PNG.")
    elif fmt == "BMP" and len(data) >= 34:
        header_size, = struct.unpack_from("<I", data, 14)
        compression, = struct.unpack_from("<I", data, 30)
        if header_size >= 40 and compression in (1, 2):
            return ("This BMP file is run-length compressed (RLE), which ConvLab does not "
                    "decode; save it as PNG or as an uncompressed BMP.")
    return None


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
    costly = _costly_structure(data, fmt)
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
        rotated = im.getexif().get(0x0112, 1) in (5, 6, 7, 8)
        im = ImageOps.exif_transpose(im)
        im = to_rgb_or_l(_reduce(im, draft_to))
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
    JPEG's DCT scaling), keeping both sides at least ``draft_to``."""
    w, h = im.size
    if not draft_to or w * h <= REDUCE_ABOVE:
        return im
    factor = min(w // draft_to, h // draft_to, 8)
    if factor < 2:
        return im
    if im.mode not in ("L", "LA", "RGB", "RGBA"):
        im = to_rgb_or_l(im)
    return im.reduce(factor)


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
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I;16") or arr.max() > 255 else 255.0
        return Image.fromarray(np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    elif mode == "P":
        return im.convert("RGB")
    if mode == "CMYK":
        return im.convert("RGB")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        return _on_white(im)
    return im.convert("RGB")


def _on_white(im: Image.Image) -> Image.Image:
    """RGB: the image over white paper, by its alpha (or its transparent colour)."""
    rgba = im.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def grey_is_colour(im: Image.Image) -> bool:
    return im.mode == "RGB"


@dataclass
class Prepared:
    """A model input and the pictures of each preprocessing step that led to it."""

    tensor: np.ndarray  # (1, C, H, W) float32, exactly what the model sees
    steps: list[tuple[str, str, np.ndarray]] = field(default_factory=list)  # (name, caption, HxW or HxWx3 uint8)
    notes: list[str] = field(default_factory=list)


def _thumb(im: Image.Image, side: int = 96) -> np.ndarray:
    t = im.copy()
    t.thumbnail((side, side), Image.Resampling.BILINEAR)
    return np.asarray(t)


def prepare_mnist(im: Image.Image, spec: dict) -> Prepared:
    """Make a drawing or photo of a digit look like an MNIST digit, the way MNIST was made.

    Greyscale; light background detected from the border and inverted (MNIST is white ink
    on black); crop to the ink's bounding box; scale the longer side to 20 px keeping the
    aspect ratio (anti-aliased); paste into a 28 x 28 field so that the centre of mass
    sits at the centre; then x = (pixel/255 - mean) / std from the model card.
    """
    steps: list[tuple[str, str, np.ndarray]] = [("original", "your image", _thumb(im))]
    notes: list[str] = []
    grey = np.asarray(im.convert("L"), dtype=np.float32)
    steps.append(("grayscale", "grayscale (L = 0.299 R + 0.587 G + 0.114 B)", _thumb(im.convert("L"))))
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    if background > 127:
        grey = 255.0 - grey
        background = 255.0 - background
        notes.append("Light background detected: inverted to white ink on black, like MNIST.")
        steps.append(("inverted", "inverted: MNIST digits are white on black", grey.astype(np.uint8)))
    ink = np.clip(grey - background, 0, None)
    peak = float(ink.max())
    size = int(spec.get("shape", [1, 1, 28, 28])[-1])
    box = max(1, round(size * 20 / 28))
    if peak < 16:
        notes.append("No ink found: the image is blank or has almost no contrast.")
        canvas = np.zeros((size, size), dtype=np.float32)
    else:
        ink = ink * (255.0 / peak)
        rows = np.flatnonzero((ink > 0.1 * 255).any(axis=1))
        cols = np.flatnonzero((ink > 0.1 * 255).any(axis=0))
        crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        steps.append(("cropped", f"cropped to the ink: {crop.shape[1]} x {crop.shape[0]} px", crop.astype(np.uint8)))
        h, w = crop.shape
        scale = box / max(h, w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        scaled = np.asarray(
            Image.fromarray(crop.astype(np.uint8), "L").resize((nw, nh), Image.Resampling.LANCZOS),
            dtype=np.float32,
        )
        steps.append(("scaled", f"longer side scaled to {box} px: {nw} x {nh}", scaled.astype(np.uint8)))
        canvas = np.zeros((size, size), dtype=np.float32)
        total = float(scaled.sum())
        if total > 0:
            yy, xx = np.mgrid[0:nh, 0:nw]
            cy, cx = float((yy * scaled).sum() / total), float((xx * scaled).sum() / total)
        else:
            cy, cx = (nh - 1) / 2, (nw - 1) / 2
        top = int(round((size - 1) / 2 - cy))
        left = int(round((size - 1) / 2 - cx))
        top = min(max(top, 0), size - nh)
        left = min(max(left, 0), size - nw)
        canvas[top : top + nh, left : left + nw] = scaled
        steps.append(("centred", f"centre of mass moved to the centre of {size} x {size}", canvas.astype(np.uint8)))
    x = normalise(canvas[None], spec)
    return Prepared(tensor=x[None], steps=steps, notes=notes)


def prepare_rgb(im: Image.Image, spec: dict) -> Prepared:
    """Colour models: centre-crop to the model's aspect ratio, resize (anti-aliased), normalise."""
    _, c, h, w = spec["shape"]
    steps: list[tuple[str, str, np.ndarray]] = [("original", "your image", _thumb(im))]
    notes: list[str] = []
    if c == 3 and im.mode != "RGB":
        im = im.convert("RGB")
        notes.append("Greyscale image copied into all three colour channels.")
    elif c == 1 and im.mode != "L":
        im = im.convert("L")
        steps.append(("grayscale", "grayscale", _thumb(im)))
    iw, ih = im.size
    target = w / h
    if abs(iw / ih - target) > 1e-6:
        if iw / ih > target:
            nw = round(ih * target)
            box = ((iw - nw) // 2, 0, (iw - nw) // 2 + nw, ih)
        else:
            nh = round(iw / target)
            box = (0, (ih - nh) // 2, iw, (ih - nh) // 2 + nh)
        im = im.crop(box)
        steps.append(("cropped", f"centre-cropped to {im.size[0]} x {im.size[1]}", _thumb(im)))
    if im.size != (w, h):
        im = im.resize((w, h), Image.Resampling.LANCZOS if max(im.size) < 4 * w else Image.Resampling.BOX)
        steps.append(("scaled", f"resized to {w} x {h}", np.asarray(im)))
    arr = np.asarray(im, dtype=np.float32)
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    x = normalise(arr, spec)
    return Prepared(tensor=x[None], steps=steps, notes=notes)


def normalise(chw: np.ndarray, spec: dict) -> np.ndarray:
    """x = (pixel * scale - mean) / std, per channel, as the model card says."""
    scale = float(spec.get("scale", 1 / 255))
    c = chw.shape[0]
    mean = np.asarray(spec.get("mean", [0.0] * c), dtype=np.float32).reshape(-1, 1, 1)
    std = np.asarray(spec.get("std", [1.0] * c), dtype=np.float32).reshape(-1, 1, 1)
    return ((chw.astype(np.float32) * scale - mean) / std).astype(np.float32)


def prepare(im: Image.Image, spec: dict) -> Prepared:
    """Model input for a card's ``input`` spec: MNIST-style for 1-channel black-background
    digit models, crop-and-resize otherwise."""
    if spec.get("channels") == "L" and spec.get("background") == "black":
        return prepare_mnist(im, spec)
    return prepare_rgb(im, spec)


def image_tensor(im: Image.Image, channels: str, size: int) -> np.ndarray:
    """(C, H, W) in [0, 1] with the longer side resized to ``size`` (for the playground)."""
    im = im.convert("L" if channels == "L" else "RGB")
    w, h = im.size
    scale = size / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    if (nw, nh) != (w, h):
        im = im.resize((nw, nh), Image.Resampling.LANCZOS if scale > 0.25 else Image.Resampling.BOX)
    arr = np.asarray(im, dtype=np.float32) / 255.0
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def png_bytes(arr: np.ndarray) -> bytes:
    """uint8 HxW or HxWx3 array -> PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(arr)).save(buf, format="PNG")
    return buf.getvalue()
