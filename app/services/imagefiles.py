"""What an upload is and what decoding it would cost, read from its bytes alone.

Nothing here decodes pixels. ``sniff`` names the format from the magic bytes;
``costly_structure`` refuses files whose structure makes a small file cost seconds of
CPU in Pillow's pure-Python parts: PNGs with a flood of chunks, JPEGs with a flood of
segments (any kind: APP1, COM, progressive scans) or of junk bytes between them, and
run-length-compressed BMPs. Each check is itself bounded: it stops counting at the
limit, and skips entropy-coded data and segment payloads at C speed.
"""

from __future__ import annotations

import re
import struct

#: libjpeg re-reads every coefficient for each progressive scan: a 100 KB file with
#: thousands of scans takes minutes. Real encoders write about 10.
MAX_JPEG_SCANS = 32
#: Pillow reads each JPEG segment header in Python (about 1.4 us); 2.5 M empty COM
#: segments (10 MB) took 3.4 s. Real files have tens: an ICC profile split into
#: 64 KB pieces, a Huffman table per progressive scan, EXIF and XMP.
MAX_JPEG_SEGMENTS = 1_000
#: Pillow steps over bytes that are not a marker one at a time, in Python.
MAX_JPEG_JUNK = 4_096
#: Pillow handles each PNG chunk in Python (~3 us): a 10 MB flood of empty chunks
#: costs seconds. A 10 MB PNG in libpng's 8 KB IDAT chunks has about 1,300.
MAX_PNG_CHUNKS = 10_000

#: The next marker in a JPEG: 0xFF then a byte that is not 0x00 (a stuffed 0xFF in
#: entropy-coded data), 0xFF (fill) or a restart marker RST0-7 (inside a scan).
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
#: Markers without a length field: TEM, SOI, EOI (RSTn never match the pattern).
_STANDALONE = {0x01, 0xD8, 0xD9}


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


def jpeg_counts(data: bytes) -> tuple[int, int, int]:
    """(segments, scans, junk bytes) of a JPEG, walking its segments by their lengths.

    A segment's payload (an EXIF thumbnail, an ICC profile) is skipped by its length,
    so markers inside it are not counted; after a start-of-scan the entropy-coded data
    is searched for the next marker. Junk is counted only before the first scan: after
    it, libjpeg (C) reads the file, not Pillow's Python. Counting stops just past
    :data:`MAX_JPEG_SEGMENTS`, so the walk itself is bounded.
    """
    segments = scans = junk = 0
    pos, end = 2, len(data)
    while segments <= MAX_JPEG_SEGMENTS:
        found = _JPEG_MARKER.search(data, pos)
        if found is None:
            break
        if not scans:
            junk += found.start() - pos
        segments += 1
        kind = data[found.start() + 1]
        if kind == 0xD9:
            break
        pos = found.end()
        if kind in _STANDALONE:
            continue
        if pos + 2 > end:
            break
        length, = struct.unpack_from(">H", data, pos)
        if length < 2:
            break  # corrupt: Pillow refuses it itself
        pos += length
        scans += kind == 0xDA
    return segments, scans, junk


def costly_structure(data: bytes, fmt: str) -> str | None:
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
        segments, scans, junk = jpeg_counts(data)
        if scans > MAX_JPEG_SCANS:
            return (f"The JPEG file has {scans} progressive scans (at most {MAX_JPEG_SCANS} "
                    "are accepted); save it again as an ordinary JPEG or PNG.")
        if segments > MAX_JPEG_SEGMENTS:
            return (f"The JPEG file has more than {MAX_JPEG_SEGMENTS:,} segments (markers "
                    "such as APP1 or COM); save it again as an ordinary JPEG or PNG.")
        if junk > MAX_JPEG_JUNK:
            return (f"The JPEG file has {junk:,} stray bytes between its segments (at most "
                    f"{MAX_JPEG_JUNK:,}); save it again as an ordinary JPEG or PNG.")
    elif fmt == "BMP" and len(data) >= 34:
        header_size, = struct.unpack_from("<I", data, 14)
        compression, = struct.unpack_from("<I", data, 30)
        if header_size >= 40 and compression in (1, 2):
            return ("This BMP file is run-length compressed (RLE), which ConvLab does not "
                    "decode; save it as PNG or as an uncompressed BMP.")
    return None
