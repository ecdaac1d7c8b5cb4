"""Builders of small inputs that cost the server far more than their size, for
tests/app/test_hostile_http.py: images whose decoding is expensive, output-size
requests whose arithmetic is, and raw HTTP requests that tie up connections.

Every builder returns bytes or a JSON body made here from scratch.
"""

from __future__ import annotations

import io
import socket
import zlib

from PIL import Image

from tests.app.hostile_kit import encode, png_raw

# ----------------------------------------------------------------------------- images


def _rows(width: int, height: int, bytes_per_pixel: int = 1) -> bytes:
    """zlib stream of ``height`` all-zero PNG rows (filter byte + pixels), compressed
    row by row so that the builder itself never holds the whole image."""
    row = b"\x00" * (width * bytes_per_pixel + 1)
    comp = zlib.compressobj(9)
    parts = [comp.compress(row) for _ in range(height)]
    parts.append(comp.flush())
    return b"".join(parts)


def png16_grey(side: int = 4096) -> bytes:
    """A black 16-bit greyscale PNG of side x side (about 32 KB for 4096): Pillow
    decodes it to 32-bit integers, 64 MB, and a float64 copy would be 128 MB more."""
    return png_raw(side, side, _rows(side, side, 2), depth=16)


def png_strip(width: int = 16_000_000, height: int = 1) -> bytes:
    """A black greyscale PNG one pixel tall and ``width`` wide (under the pixel limit)."""
    return png_raw(width, height, _rows(width, height))


def jpeg_marker_flood(markers: int = 2_500_000, kind: int = 0xFE) -> bytes:
    """A valid 8 x 8 JPEG with ``markers`` empty segments of ``kind`` (0xFE = COM,
    0xE1 = APP1) before its frame: 4 bytes each, so 2.5 M of them is 10 MB, and
    Pillow reads each one in Python."""
    data = encode(Image.new("L", (8, 8), 128), "JPEG", quality=90)
    return data[:2] + bytes([0xFF, kind, 0x00, 0x02]) * markers + data[2:]


def jpeg_junk(count: int = 10_000_000, byte: bytes = b"\x00") -> bytes:
    """A valid 8 x 8 JPEG with ``count`` bytes that are not a marker after its first
    segment (0x00 junk, or 0xFF fill): Pillow steps over them one at a time, in Python."""
    data = encode(Image.new("L", (8, 8), 128), "JPEG", quality=90)
    after_app0 = 4 + int.from_bytes(data[4:6], "big")
    return data[:after_app0] + byte * count + data[after_app0:]


def jpeg_markers_in_scan(markers: int = 1_000_000) -> bytes:
    """A valid 8 x 8 JPEG with ``markers`` empty COM segments after its scan data,
    before the end of image (libjpeg, not Pillow, reads past the first scan)."""
    data = encode(Image.new("L", (8, 8), 128), "JPEG", quality=90)
    end = data.rindex(b"\xff\xd9")
    return data[:end] + b"\xff\xfe\x00\x02" * markers + data[end:]


def rgba_png(side: int = 4096) -> bytes:
    """A transparent black RGBA PNG, side x side: 64 MB once decoded (4096)."""
    return png_raw(side, side, _rows(side, side, 4), colour_type=6)


def big_gif(side: int = 4096) -> bytes:
    """A one-colour GIF whose single frame fills side x side (a P image once decoded)."""
    buf = io.BytesIO()
    Image.new("P", (side, side), 1).save(buf, format="GIF")
    return buf.getvalue()


# ----------------------------------------------------------------------------- raw HTTP


def request(method: str = "GET", path: str = "/api/health", *, headers: dict[str, str] | None = None,
            body: bytes = b"") -> bytes:
    """An HTTP/1.1 request as bytes, written by hand (so it can say anything)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def big_header_request(kilobytes: int = 100) -> bytes:
    """A GET whose headers total ``kilobytes`` KB: one cookie of that size."""
    return request(headers={"Cookie": "a=" + "x" * (kilobytes * 1024)})


def connect(port: int, timeout: float = 10.0) -> socket.socket:
    """A TCP connection to the server on loopback (never anywhere else)."""
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def exchange(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send ``data`` on a fresh connection and read until the server closes it or
    ``timeout`` passes; the raw response."""
    with connect(port, timeout) as s:
        s.sendall(data)
        return read_all(s)


def read_all(s: socket.socket, limit: int = 1 << 20) -> bytes:
    """Read until the peer closes (or resets) the connection, at most ``limit`` bytes."""
    out = b""
    try:
        while len(out) < limit:
            got = s.recv(65536)
            if not got:
                break
            out += got
    except (ConnectionResetError, TimeoutError):
        pass
    return out


def split_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """(status, lower-cased headers, body) of the first response in ``raw``."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    length = int(headers.get("content-length", len(body)))
    return status, headers, body[:length]
