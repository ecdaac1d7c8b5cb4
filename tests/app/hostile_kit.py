"""Builders of hostile and unusual files for tests/app/test_hostile.py.

Every builder returns bytes made here from scratch (no fixtures on disk): images whose
headers lie, decompression and text-chunk bombs, polyglots, multipart bodies written
by hand, and malformed ONNX models.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import numpy as np
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------- images


def encode(im: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def digit(size: int = 28) -> Image.Image:
    """A white bar on black: a plausible '1' for a digit model."""
    arr = np.zeros((size, size), np.uint8)
    arr[size // 5 : -size // 5, size // 2 - 2 : size // 2 + 2] = 255
    return Image.fromarray(arr, "L")


def chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with a correct CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_raw(width: int, height: int, idat: bytes, *, colour_type: int = 0, depth: int = 8,
            extra: bytes = b"") -> bytes:
    """A PNG from its parts: IHDR says width x height, whatever the IDAT really holds."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return PNG_MAGIC + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height and holds one compressed row of zeros."""
    return png_raw(width, height, zlib.compress(b"\x00" * (min(width, 65535) + 1), 9))


def png_bomb(side: int = 20_000) -> bytes:
    """A greyscale PNG whose IDAT really inflates to side x side pixels (~400 MB for
    20000), yet is only a few hundred KB on the wire."""
    row = b"\x00" * (side + 1)
    comp = zlib.compressobj(9)
    parts = [comp.compress(row) for _ in range(side)]
    parts.append(comp.flush())
    return png_raw(side, side, b"".join(parts))


def ztxt_bomb(chunks: int = 1, inflated: int = 4 * 2**20) -> bytes:
    """A valid 8 x 8 PNG preceded by ``chunks`` zTXt chunks that each inflate to ``inflated`` bytes."""
    body = zlib.compress(b"A" * inflated, 9)
    text = b"".join(chunk(b"zTXt", b"Comment\x00\x00" + body) for _ in range(chunks))
    return png_raw(8, 8, zlib.compress(b"\x00" * 9 * 8), extra=text)


def itxt_bomb(inflated: int = 4 * 2**20) -> bytes:
    """A valid 8 x 8 PNG with one compressed iTXt chunk that inflates to ``inflated`` bytes."""
    body = zlib.compress(b"B" * inflated, 9)
    itxt = chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + body)
    return png_raw(8, 8, zlib.compress(b"\x00" * 9 * 8), extra=itxt)


def chunk_flood(count: int = 200_000) -> bytes:
    """A valid 8 x 8 PNG with ``count`` empty private ancillary chunks before its pixels."""
    return png_raw(8, 8, zlib.compress(b"\x00" * 9 * 8), extra=chunk(b"zzZz", b"") * count)


def png16(width: int = 32, height: int = 32) -> tuple[bytes, np.ndarray]:
    """A 16-bit greyscale PNG (a horizontal ramp 0..65535) and its values."""
    arr = np.tile(np.linspace(0, 65535, width).astype(np.uint16), (height, 1))
    raw = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in arr)
    return png_raw(width, height, zlib.compress(raw), depth=16), arr


def palette_with_transparency() -> bytes:
    """A 'P' PNG: left half index 0 (fully transparent black), right half index 1 (opaque red)."""
    im = Image.new("P", (16, 8), 0)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0, 0, 0] * 254)
    for x in range(8, 16):
        for y in range(8):
            im.putpixel((x, y), 1)
    return encode(im, "PNG", transparency=0)


def cmyk_jpeg() -> bytes:
    """A CMYK JPEG of pure cyan (C = 255, M = Y = K = 0)."""
    return encode(Image.new("CMYK", (24, 24), (255, 0, 0, 0)), "JPEG", quality=95)


def animated_gif() -> bytes:
    """Two frames: red, then blue."""
    frames = [Image.new("RGB", (16, 16), c).convert("P") for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


def many_frame_gif(frames: int = 20_000) -> bytes:
    """A 1 x 1 GIF followed by ``frames`` more tiny frames (one image descriptor each)."""
    head = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return head + frame * (frames + 1) + b"\x3b"


def exif_rotated_jpeg() -> bytes:
    """A 40 x 20 (landscape) JPEG, red in the left half, tagged EXIF orientation 6.

    Orientation 6 means "rotate 90 degrees clockwise to display": shown correctly it is
    20 wide x 40 tall, red in the TOP half.
    """
    im = Image.new("RGB", (40, 20), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(im, "JPEG", quality=95, exif=exif.tobytes())


def gif_js_polyglot() -> bytes:
    """Starts like a GIF, is really JavaScript: ``GIF89a=1;alert(document.domain)//``."""
    return b"GIF89a=1;alert(document.domain);//" + b" " * 64


def png_with_zip() -> bytes:
    """A valid PNG with a zip archive appended (still a valid PNG to a decoder)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("payload.html", "<script>alert(1)</script>")
    return encode(digit()) + buf.getvalue()


def zip_named_png() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("x.png", encode(digit()))
    return buf.getvalue()


def jpeg_header(width: int, height: int) -> bytes:
    """A baseline JPEG whose SOF0 declares width x height, with no scan data."""
    sof = struct.pack(">BHHBBBB", 8, height, width, 1, 1, 0x11, 0)
    return b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + b"\xff\xd9"


def bmp_header(width: int, height: int) -> bytes:
    """A 24-bit BMP header for width x height with almost no pixel data."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + 16, 0, 0, 54) + info + b"\x00" * 16


def gif_screen(width: int, height: int) -> bytes:
    """A GIF whose logical screen is width x height, holding one 1 x 1 frame."""
    head = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return head + frame + b"\x3b"


def webp_canvas(width: int, height: int) -> bytes:
    """An extended WebP (VP8X) declaring a width x height canvas around a 1 x 1 image."""
    vp8x = struct.pack("<I", 0) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    tiny = encode(Image.new("RGB", (1, 1)), "WEBP", lossless=True)
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x + tiny[12:]
    return b"RIFF" + struct.pack("<I", len(body)) + body


# ----------------------------------------------------------------------------- multipart


def multipart(parts: list[tuple[bytes, bytes]], boundary: bytes = b"b0undary", *,
              preamble: bytes = b"", epilogue: bytes = b"") -> tuple[bytes, str]:
    """A multipart/form-data body written by hand: ``parts`` are (headers, content)."""
    out = [preamble]
    for headers, content in parts:
        out += [b"--" + boundary + b"\r\n", headers.rstrip(b"\r\n") + b"\r\n\r\n", content, b"\r\n"]
    out += [b"--" + boundary + b"--\r\n", epilogue]
    return b"".join(out), f"multipart/form-data; boundary={boundary.decode()}"


def file_part(content: bytes, name: bytes = b"file", filename: bytes = b"x.png",
              ctype: bytes = b"image/png") -> tuple[bytes, bytes]:
    return (b'Content-Disposition: form-data; name="' + name + b'"; filename="' + filename
            + b'"\r\nContent-Type: ' + ctype, content)


# ----------------------------------------------------------------------------- ONNX


def _model(nodes, inputs, outputs, inits=(), opset: int = 17):
    graph = helper.make_graph(nodes, "hostile", inputs, outputs, list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def _io(c: int = 1, side: int = 8, k: int = 3):
    return ([helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", c, side, side])],
            [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", k])])


def dense(k: int = 3, side: int = 8):
    """Flatten -> Gemm: a valid, tiny classifier (the base the malformed ones start from)."""
    fc = numpy_helper.from_array(np.full((k, side * side), 0.01, np.float32), "fc")
    nodes = [helper.make_node("Flatten", ["input"], ["f"], name="flatten"),
             helper.make_node("Gemm", ["f", "fc"], ["out"], name="fc", transB=1)]
    return _model(nodes, *_io(1, side, k), [fc])


def onnx_external_data(location: str = "../../../../etc/passwd") -> bytes:
    """The weights say they live in a file beside the model (a path the server must never read)."""
    m = dense()
    t = m.graph.initializer[0]
    t.ClearField("float_data")
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "768")):
        entry = t.external_data.add()
        entry.key, entry.value = key, value
    return m.SerializeToString()


def onnx_huge_initializer_claim() -> bytes:
    """An initializer whose dims claim 10^12 floats while holding twelve bytes."""
    m = dense()
    t = m.graph.initializer[0]
    del t.dims[:]
    t.dims.extend([1_000_000, 1_000_000])
    t.ClearField("float_data")
    t.raw_data = b"\x00" * 12
    return m.SerializeToString()


def onnx_big_initializer(megabytes: float) -> bytes:
    """A structurally valid model carrying an unused initializer of the given size."""
    m = dense()
    n = int(megabytes * 2**20 / 4)
    m.graph.initializer.append(numpy_helper.from_array(np.zeros(n, np.float32), "ballast"))
    return m.SerializeToString()


def onnx_unknown_op() -> bytes:
    nodes = [helper.make_node("Flatten", ["input"], ["f"]),
             helper.make_node("TotallyMadeUpOp", ["f"], ["out"], domain="evil.example")]
    m = _model(nodes, *_io())
    m.opset_import.append(helper.make_opsetid("evil.example", 1))
    return m.SerializeToString()


def onnx_cyclic() -> bytes:
    """Two nodes that feed each other: a -> b -> a."""
    nodes = [helper.make_node("Add", ["input", "b"], ["a"], name="n1"),
             helper.make_node("Relu", ["a"], ["b"], name="n2"),
             helper.make_node("Flatten", ["b"], ["f"], name="n3"),
             helper.make_node("Gemm", ["f", "fc"], ["out"], name="n4", transB=1)]
    return _model(nodes, *_io()).SerializeToString()


def onnx_dangling_input() -> bytes:
    """A node reads a tensor nothing produces."""
    m = dense()
    m.graph.node[0].input[0] = "nowhere"
    return m.SerializeToString()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def onnx_nested_subgraphs(depth: int = 200) -> bytes:
    """A valid model plus an If node whose then-branch nests ``depth`` graphs deep.

    Written as raw protobuf (the protobuf library refuses to build past depth 100):
    GraphProto.node = 1, NodeProto.input/output/op_type/attribute = 1/2/4/5,
    AttributeProto.name/g/type = 1/6/20, ModelProto.graph = 7. A second ``graph``
    field is merged into the first by any protobuf parser.
    """
    inner = _field(2, b"leaf")
    for _ in range(depth):
        attr = _field(1, b"then_branch") + _field(6, inner) + _varint(20 << 3) + _varint(5)
        node = _field(1, b"cond") + _field(2, b"o") + _field(4, b"If") + _field(5, attr)
        inner = _field(1, node) + _field(2, b"g")
    return dense().SerializeToString() + _field(7, inner)


def onnx_truncated() -> bytes:
    data = dense().SerializeToString()
    return data[: len(data) // 2]


def bmp_rle(width: int, height: int, rle4: bool = False, body: bytes | None = None) -> bytes:
    """A palette BMP, RLE8 or RLE4 compressed; by default every row is just 'end of line'
    (Pillow's pure-Python RLE decoder then pads each row one byte at a time)."""
    bits, comp = (4, 2) if rle4 else (8, 1)
    colours = 16 if rle4 else 256
    palette = b"\x00\x00\x00\x00" + b"\xff\xff\xff\x00" * (colours - 1)
    data = body if body is not None else b"\x00\x00" * height + b"\x00\x01"
    offset = 14 + 40 + len(palette)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, bits, comp, len(data), 2835, 2835, colours, 0)
    return b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset) + info + palette + data


def jpeg_scan_flood(repeats: int = 200, side: int = 64) -> bytes:
    """A progressive JPEG whose last scan is repeated ``repeats`` times.

    libjpeg only warns about the bogus progression and re-processes every coefficient
    for each scan: at 4096 x 4096, 1,000 repeats (a 100 KB file) take about 10 s.
    """
    data = encode(Image.new("L", (side, side), 128), "JPEG", progressive=True, quality=90)
    start = data.rindex(b"\xff\xda")
    end = data.rindex(b"\xff\xd9")
    return data[:end] + data[start:end] * repeats + b"\xff\xd9"
