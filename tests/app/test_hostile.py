"""Hostile input (issue #7 §2): every case gets its intended status, a `detail` sentence,
and the server still answers afterwards.

Uploads, multipart abuse, JSON abuse, ONNX abuse, the concurrency gate (503 +
Retry-After), the body limits' JSON shape, and memory across 1,000 requests. The
builders of the malicious files are in tests/app/hostile_kit.py.
"""

from __future__ import annotations

import gc
import io
import threading
import time
from contextlib import contextmanager

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.config import Settings
from app.main import create_app
from tests.app import hostile_kit as K
from tests.app.modelkit import tiny_cnn, write_model

PREDICT = "/api/models/tiny-digits/predict"
PREDICT_RGB = "/api/models/tiny-rgb/predict"
IMAGE = "/api/image"


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile-models")
    write_model(folder, "tiny-digits", tiny_cnn(1, 28))
    write_model(folder, "tiny-rgb", tiny_cnn(3, 32, seed=1), channels="RGB", size=32,
                classes=list("abcdefghij"))
    return folder


@pytest.fixture(scope="module")
def hc(models_dir):
    with TestClient(create_app(Settings(models_dir=models_dir)), raise_server_exceptions=False) as c:
        yield c


def refused(client, r, status: int, needle: str) -> str:
    """The response has ``status``, a JSON ``detail`` sentence containing ``needle``, the
    security headers; and the server still answers."""
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"].startswith("application/json"), r.headers
    assert r.headers.get("x-content-type-options") == "nosniff"
    detail = r.json()["detail"]
    assert isinstance(detail, str) and len(detail) > 15 and detail[0].isalpha(), detail
    assert needle.lower() in detail.lower(), detail
    assert client.get("/api/health").status_code == 200
    return detail


def upload(client, data: bytes, url: str = PREDICT, name: str = "x.png", ctype: str = "image/png"):
    return client.post(url, files={"file": (name, data, ctype)})


def pixels(body: dict) -> np.ndarray:
    """/api/image's tensor as (C, H, W) in 0..255."""
    t = body["tensor"]
    return np.asarray(t["data"], dtype=np.float64).reshape(t["shape"]) * 255


# ----------------------------------------------------------------------------- refused uploads

DIGIT_PNG = K.encode(K.digit())
DIGIT_JPEG = K.encode(K.digit().convert("RGB"), "JPEG", quality=90)

NOT_IMAGES = {
    "random bytes": np.random.default_rng(7).bytes(4096),
    "text named .png": b"just some text, honestly a png",
    "html with script": b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>",
    "svg with script": b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'><script>alert(2)</script></svg>",
    "pdf": b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
    "tiff": K.encode(K.digit(), "TIFF"),
    "zip named .png": K.zip_named_png(),
    "ico": K.encode(K.digit().convert("RGB"), "ICO"),
}


@pytest.mark.parametrize("kind", list(NOT_IMAGES))
def test_not_an_allowed_image_is_415(hc, kind):
    refused(hc, upload(hc, NOT_IMAGES[kind]), 415, "PNG, JPEG, WebP, GIF or BMP")


CORRUPT = {
    "empty": (b"", 422, "empty"),
    "gif header + javascript": (K.gif_js_polyglot(), 422, "GIF file could not be decoded"),
    "truncated png": (DIGIT_PNG[: len(DIGIT_PNG) // 2], 422, "truncated or corrupt"),
    "png with a broken crc": (DIGIT_PNG[:40] + bytes([DIGIT_PNG[40] ^ 0xFF]) + DIGIT_PNG[41:], 422,
                              "truncated or corrupt"),
    "truncated jpeg": (DIGIT_JPEG[:200], 422, "truncated or corrupt"),
    "jpeg header, no scan": (K.jpeg_header(640, 480), 422, "truncated or corrupt"),
    "0 x 0 png": (K.png_header_only(0, 0), 422, "PNG file could not be decoded"),
    "bmp that says 4 x 4 and holds nothing": (K.bmp_header(4, 4)[:40], 422, "BMP file could not be decoded"),
}


@pytest.mark.parametrize("kind", list(CORRUPT))
def test_corrupt_images_are_422(hc, kind):
    data, status, needle = CORRUPT[kind]
    refused(hc, upload(hc, data), status, needle)


TOO_MANY_PIXELS = {
    "png header 65535 x 65535": lambda: K.png_header_only(65535, 65535),
    "png that inflates to 20000 x 20000": lambda: K.png_bomb(20_000),
    "png 4097 x 4096, just over": lambda: K.png_header_only(4097, 4096),
    "jpeg header 65500 x 65500": lambda: K.jpeg_header(65500, 65500),
    "bmp header 30000 x 30000": lambda: K.bmp_header(30000, 30000),
    "gif screen 65535 x 65535": lambda: K.gif_screen(65535, 65535),
    "webp canvas 16383 x 16383": lambda: K.webp_canvas(16383, 16383),
}


@pytest.mark.parametrize("kind", list(TOO_MANY_PIXELS))
def test_pixel_count_refused_from_the_header(hc, kind):
    data = TOO_MANY_PIXELS[kind]()
    t0 = time.perf_counter()
    r = upload(hc, data)
    assert time.perf_counter() - t0 < 1.0  # refused before decoding
    refused(hc, r, 413, "pixels")


COSTLY = {
    # Small files whose structure costs seconds of CPU in Pillow / libjpeg.
    "png zTXt bomb": (lambda: K.ztxt_bomb(1, 4 * 2**20), 422, "could not be decoded"),
    "png iTXt bomb": (lambda: K.itxt_bomb(4 * 2**20), 422, "could not be decoded"),
    "png chunk flood": (lambda: K.chunk_flood(200_000), 422, "chunks"),
    "jpeg progressive-scan flood": (lambda: K.jpeg_scan_flood(200), 422, "progressive scans"),
    "rle8 bmp": (lambda: K.bmp_rle(4096, 4096, body=b"\x01\x01\x00\x00" * 4096), 415, "run-length"),
    "rle4 bmp": (lambda: K.bmp_rle(4096, 4096, rle4=True, body=(b"\xff\x11" * 17 + b"\x00\x00") * 4096),
                 415, "run-length"),
}


@pytest.mark.parametrize("kind", list(COSTLY))
def test_cpu_bombs_refused_quickly(hc, kind):
    build, status, needle = COSTLY[kind]
    data = build()
    t0 = time.perf_counter()
    r = upload(hc, data)
    assert time.perf_counter() - t0 < 1.0
    refused(hc, r, status, needle)


def test_many_frame_gif_decodes_only_the_first_frame(hc):
    data = K.many_frame_gif(200_000)  # 3 MB of frames
    t0 = time.perf_counter()
    r = upload(hc, data)
    assert r.status_code == 200, r.text
    assert time.perf_counter() - t0 < 1.0  # no walk over every frame


def test_largest_allowed_image_is_cheap_and_reported_at_its_real_size(hc):
    im = Image.new("RGBA", (4096, 4096), (200, 30, 30, 128))
    im.paste((0, 0, 0, 255), (1000, 1000, 3000, 3000))
    t0 = time.perf_counter()
    r = upload(hc, K.encode(im), url=f"{IMAGE}?channels=RGB&size=64")
    assert r.status_code == 200, r.text
    assert time.perf_counter() - t0 < 3.0
    body = r.json()
    assert body["original"] == {"width": 4096, "height": 4096, "format": "PNG"}
    x = pixels(body)
    assert x.shape == (3, 64, 64)
    # (200, 30, 30) at alpha 128 over white; the black square in the middle.
    np.testing.assert_allclose(x[:, 2, 2], [228, 142, 142], atol=3)
    np.testing.assert_allclose(x[:, 32, 32], [0, 0, 0], atol=3)


# ----------------------------------------------------------------------------- unusual but valid


def test_png_with_zip_appended_is_an_image(hc):
    """Trailing bytes after IEND do not matter: only decoded pixels are used and the
    upload is never stored or served back, so the zip inside is inert."""
    r = upload(hc, K.png_with_zip())
    assert r.status_code == 200, r.text
    assert r.json()["original"]["format"] == "PNG"


@pytest.mark.parametrize("fmt", ["WEBP", "BMP", "GIF", "JPEG"])
def test_every_allowed_format_decodes(hc, fmt):
    r = upload(hc, K.encode(K.digit().convert("RGB"), fmt), name="digit.bin", ctype="application/octet-stream")
    assert r.status_code == 200, r.text
    assert r.json()["original"]["format"] == fmt


def test_16_bit_png_is_scaled_to_8_bit(hc):
    data, ramp = K.png16(32, 32)
    r = upload(hc, data, url=f"{IMAGE}?channels=L&size=32")
    assert r.status_code == 200, r.text
    x = pixels(r.json())[0]
    np.testing.assert_allclose(x[5], ramp[5] / 65535 * 255, atol=1.0)


def test_cmyk_jpeg_becomes_rgb(hc):
    r = upload(hc, K.cmyk_jpeg(), url=f"{IMAGE}?channels=RGB&size=12")
    assert r.status_code == 200, r.text
    red, green, blue = pixels(r.json()).mean(axis=(1, 2))
    assert red < 60 and green > 180 and blue > 180  # cyan


def test_palette_transparency_is_composited_on_white(hc):
    r = upload(hc, K.palette_with_transparency(), url=f"{IMAGE}?channels=RGB&size=16")
    assert r.status_code == 200, r.text
    x = pixels(r.json())
    np.testing.assert_allclose(x[:, 4, 2], [255, 255, 255], atol=1)  # transparent -> white
    np.testing.assert_allclose(x[:, 4, 13], [255, 0, 0], atol=1)  # opaque red stays red


@pytest.mark.parametrize("mode,key,paper,ink", [
    ("L", 0, 0, 90),  # grey PNG whose tRNS makes black transparent
    ("RGB", (0, 0, 0), (0, 0, 0), (200, 30, 30)),  # RGB PNG whose tRNS makes black transparent
])
def test_png_transparency_colour_is_composited_on_white(hc, mode, key, paper, ink):
    im = Image.new(mode, (16, 16), paper)
    im.paste(ink, (8, 0, 16, 16))
    buf = io.BytesIO()
    im.save(buf, format="PNG", transparency=key)
    channels = "L" if mode == "L" else "RGB"
    r = upload(hc, buf.getvalue(), url=f"{IMAGE}?channels={channels}&size=16")
    assert r.status_code == 200, r.text
    x = pixels(r.json())
    assert np.all(np.abs(x[:, 4, 2] - 255) <= 1)  # transparent -> the white paper
    np.testing.assert_allclose(x[:, 4, 13], np.atleast_1d(ink), atol=1)  # opaque ink stays


def test_animated_gif_uses_the_first_frame(hc):
    r = upload(hc, K.animated_gif(), url=f"{IMAGE}?channels=RGB&size=16")
    assert r.status_code == 200, r.text
    red, green, blue = pixels(r.json()).mean(axis=(1, 2))
    assert red > 200 and blue < 50  # frame 0 is red, frame 1 blue


def test_exif_orientation_is_applied(hc):
    """Stored 40 x 20 with red on the left, tagged 'rotate 90 clockwise': shown upright it
    is 20 wide x 40 tall with red on top."""
    r = upload(hc, K.exif_rotated_jpeg(), url=f"{IMAGE}?channels=RGB&size=40")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["original"]["width"] == 20 and body["original"]["height"] == 40
    x = pixels(body)
    assert x.shape == (3, 40, 20)
    top, bottom = x[:, 5, 10], x[:, 34, 10]
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


def test_lying_names_and_content_types_do_not_matter(hc):
    r = upload(hc, DIGIT_PNG, name="setup.exe", ctype="application/x-msdownload")
    assert r.status_code == 200 and r.json()["original"]["format"] == "PNG"
    refused(hc, upload(hc, b"GIF8 not really", name="cat.jpg", ctype="image/jpeg"), 415, "not its name")


@pytest.mark.parametrize("filename", [b"../../etc/passwd", b"..\\..\\boot.ini", b"a\x00b.png",
                                      b"C:/Windows/win.ini", b"%2e%2e%2fx.png"])
def test_path_like_filenames_are_ignored(hc, filename):
    body, ctype = K.multipart([K.file_part(DIGIT_PNG, filename=filename)])
    r = hc.post(PREDICT, content=body, headers={"content-type": ctype})
    assert r.status_code == 200, r.text
    assert "passwd" not in r.text and "win.ini" not in r.text


# ----------------------------------------------------------------------------- multipart abuse


def raw(client, url, body: bytes, ctype: str):
    return client.post(url, content=body, headers={"content-type": ctype})


def test_two_files_refused(hc):
    body, ctype = K.multipart([K.file_part(DIGIT_PNG), K.file_part(DIGIT_PNG, filename=b"b.png")])
    refused(hc, raw(hc, PREDICT, body, ctype), 400, "more files than this endpoint takes")


def test_many_fields_refused(hc):
    parts = [K.file_part(DIGIT_PNG)] + [(b'Content-Disposition: form-data; name="f%d"' % i, b"x")
                                        for i in range(1000)]
    refused(hc, raw(hc, PREDICT, *K.multipart(parts)), 400, "more fields")


def test_huge_text_field_refused(hc):
    parts = [K.file_part(DIGIT_PNG), (b'Content-Disposition: form-data; name="note"', b"x" * 200_000)]
    refused(hc, raw(hc, PREDICT, *K.multipart(parts)), 400, "field is too long")


@pytest.mark.parametrize("ctype", ["multipart/form-data", "multipart/form-data; boundary=other"])
def test_missing_or_wrong_boundary(hc, ctype):
    body, _ = K.multipart([K.file_part(DIGIT_PNG)])
    refused(hc, raw(hc, PREDICT, body, ctype), 400, "not valid multipart/form-data")


@pytest.mark.parametrize("headers", [
    b'Content-Disposition: form-data; filename="a.png"',  # no name
    b'Content-Disposition: form-data; name="file"; filename="' + b"a" * 200_000 + b'"',
    b'Content-Disposition: form-data; name="file"; filename="a.png"\r\n' + b"X-Pad: y\r\n" * 20_000,
])
def test_broken_part_headers(hc, headers):
    refused(hc, raw(hc, PREDICT, *K.multipart([(headers, DIGIT_PNG)])), 400, "multipart")


def test_crlf_preamble_and_epilogue_are_fine(hc):
    body, ctype = K.multipart([K.file_part(DIGIT_PNG)], preamble=b"\r\n\r\n", epilogue=b"\r\nbye\r\n")
    assert raw(hc, PREDICT, body, ctype).status_code == 200


def test_text_preamble_refused(hc):
    body, ctype = K.multipart([K.file_part(DIGIT_PNG)], preamble=b"hello there\r\n")
    refused(hc, raw(hc, PREDICT, body, ctype), 400, "multipart")


def test_wrong_field_name(hc):
    r = hc.post(PREDICT, files={"image": ("a.png", DIGIT_PNG, "image/png")})
    refused(hc, r, 422, "file")


def test_file_sent_as_text_field(hc):
    refused(hc, hc.post(IMAGE, data={"file": "iVBORw0KGgo="}), 422, "file")


def test_json_sent_to_an_upload_route(hc):
    refused(hc, hc.post(PREDICT, json={"file": "data:image/png;base64,AAAA"}), 422, "file")


def test_oversized_upload_is_413_json(hc):
    r = upload(hc, b"\x89PNG\r\n\x1a\n" + bytes(11 * 2**20))
    refused(hc, r, 413, "at most 10.6 MB")  # 10 MiB + 64 KiB, in decimal MB
    assert "11.5 MB" in r.json()["detail"]


@pytest.mark.parametrize("query,needle", [("size=100000", "less than or equal to 128"),
                                          ("size=-1", "greater than or equal to 4"),
                                          ("size=abc", "valid integer"),
                                          ("channels=CMYK", "'L' or 'RGB'")])
def test_query_parameters_bounded(hc, query, needle):
    refused(hc, upload(hc, DIGIT_PNG, url=f"{IMAGE}?{query}"), 422, needle)


@pytest.mark.parametrize("name,needle", [("nope", "no model called 'nope'"),
                                         ("..%2F..%2Fetc%2Fpasswd", "There is nothing at"),
                                         ("%00", "no model called")])
def test_unknown_model_name(hc, name, needle):
    refused(hc, upload(hc, DIGIT_PNG, url=f"/api/models/{name}/predict"), 404, needle)


def test_unknown_route_and_method(hc):
    refused(hc, hc.get("/api/nothing-here"), 404, "nothing at /api/nothing-here")
    refused(hc, hc.delete("/api/health"), 405, "DELETE is not allowed")


# ----------------------------------------------------------------------------- JSON abuse

CONV = "/api/conv"


def conv_body(**over) -> dict:
    body = {"input": {"shape": [1, 4, 4], "data": [0.5] * 16},
            "weights": {"shape": [1, 1, 3, 3], "data": [1.0] * 9}}
    return {**body, **over}


def post_json(client, url: str, text: str | bytes, ctype: str = "application/json"):
    return client.post(url, content=text, headers={"content-type": ctype})


JSON_CASES = {
    "NaN literal": ('{"scores": [1, NaN]}', 422, "finite number"),
    "Infinity literal": ('{"scores": [-Infinity, 1]}', 422, "finite number"),
    "number that overflows to inf": ('{"scores": [1e400]}', 422, "finite number"),
    "deep nesting": ('{"scores": ' + "[" * 50_000 + "]" * 50_000 + "}", 400, "nested too deeply"),
    "string for a number": ('{"scores": ["1"]}', 422, "valid number"),
    "bool for a number": ('{"scores": [true]}', 422, "valid number"),
    "null for a list": ('{"scores": null}', 422, "valid list"),
    "extra key": ('{"scores": [1], "admin": true}', 422, "Extra inputs are not permitted"),
    "empty body": ("", 422, "body is empty"),
    "top-level array": ("[1, 2, 3]", 422, "JSON object"),
    "syntax error": ('{"scores": [1, 2,', 422, "not valid JSON"),
    "too many scores": ('{"scores": [' + ",".join(["1"] * 1001) + "]}", 422, "at most 1000 items"),
    "score out of range": ('{"scores": [1e7]}', 422, "less than or equal to 1000000"),
}


@pytest.mark.parametrize("kind", list(JSON_CASES))
def test_json_abuse_on_softmax(hc, kind):
    text, status, needle = JSON_CASES[kind]
    refused(hc, post_json(hc, "/api/softmax", text), status, needle)


def test_non_utf8_body(hc):
    refused(hc, post_json(hc, "/api/softmax", b'{"scores": [1], "x": "\xff\xfe"}'), 400, "UTF-8")


def test_json_with_the_wrong_content_type(hc):
    refused(hc, post_json(hc, "/api/softmax", '{"scores": [1]}', "text/plain"), 422, "Content-Type: application/json")


def test_json_body_over_the_limit_is_413_json(hc):
    r = post_json(hc, "/api/softmax", '{"scores": [' + "1," * 1_500_000 + "1]}")
    refused(hc, r, 413, "at most 2.1 MB")


def test_json_body_over_the_limit_without_content_length(hc):
    def chunks():
        for _ in range(40):
            yield b" " * 65536

    r = hc.post("/api/softmax", content=chunks(), headers={"content-type": "application/json"})
    refused(hc, r, 413, "at most 2.1 MB")


@pytest.mark.parametrize("over,needle", [
    ({"input": {"shape": [1, 2, 2], "data": [1e300, 0, 0, 0]}}, "less than or equal to 1000000"),
    ({"bias": [-1e9]}, "greater than or equal to -1000000"),
    ({"input": {"shape": [3, 128, 128], "data": [0.5] * 49153}}, "at most 49152 items"),
    ({"input": {"shape": [1, 4, 4], "data": [0.5] * 15}}, "needs 16 values"),
    ({"input": {"shape": [4096, 4096], "data": [0.5]}}, "needs 16777216 values"),
    ({"stride": 10 ** 30}, "stride"),
    ({"stride": 1.5}, "stride"),
    ({"padding": "valid"}, "padding"),
    ({"dilation": [1, 2, 3]}, "dilation"),
    ({"trace": [0, 0, 99999]}, "trace"),
    ({"weights": {"shape": [17, 1, 3, 3], "data": [0.0] * 153}}, "at most 16 filters"),
    ({"activation": "softmax"}, "activation"),
])
def test_conv_parameters_bounded(hc, over, needle):
    refused(hc, hc.post(CONV, json=conv_body(**over)), 422, needle)


def test_many_invalid_values_are_cheap_to_refuse(hc):
    """49,152 wrong values give one error, not 49,152 (pydantic fail_fast)."""
    body = conv_body(input={"shape": [3, 128, 128], "data": ["x"] * 49152},
                     weights={"shape": [1, 3, 1, 1], "data": [1.0] * 3})
    t0 = time.perf_counter()
    r = hc.post(CONV, json=body)
    assert time.perf_counter() - t0 < 1.0
    refused(hc, r, 422, "valid number")
    assert len(r.json()["errors"]) == 1


def test_pool_and_activation_values_bounded(hc):
    big = {"shape": [1, 2, 2], "data": [3e38, 3e38, 3e38, 3e38]}
    refused(hc, hc.post("/api/pool", json={"input": big, "mode": "avg"}), 422, "1000000")
    refused(hc, hc.post("/api/activation", json={"input": big, "function": "relu"}), 422, "1000000")


def test_train_step_bounds(hc):
    refused(hc, hc.post("/api/train/step", json={"steps": 10_000}), 422, "less than or equal to 50")
    refused(hc, hc.post("/api/train/step", json={"network": {"hidden": [8] * 7}}), 422, "at most 6")


# ----------------------------------------------------------------------------- ONNX abuse


def _has_model_upload(client) -> bool:
    return "post" in client.get("/openapi.json").json()["paths"].get("/api/models", {})


@pytest.fixture(scope="module")
def uploads(hc):
    if not _has_model_upload(hc):
        pytest.skip("POST /api/models (bring your own model) is not in this build")
    return hc


def send_model(client, data: bytes, name: str = "model.onnx"):
    return client.post("/api/models", files={"file": (name, data, "application/octet-stream")})


ONNX_CASES = {
    "external data pointing at /etc/passwd": (K.onnx_external_data, 422, "external data"),
    "initializer claiming 10^12 weights": (K.onnx_huge_initializer_claim, 422, "weights"),
    "unknown op in a made-up domain": (K.onnx_unknown_op, 422, "does not run the op"),
    "cyclic graph": (K.onnx_cyclic, 422, "cycle"),
    "node reading an undefined tensor": (K.onnx_dangling_input, 422, "never defined"),
    "graphs nested 200 deep": (lambda: K.onnx_nested_subgraphs(200), 422, "not an ONNX model"),
    "truncated protobuf": (K.onnx_truncated, 422, "not an ONNX model"),
    "zip named .onnx": (K.zip_named_png, 422, "not an ONNX model"),
    "png named .onnx": (lambda: DIGIT_PNG, 422, "not an ONNX model"),
    "empty file": (lambda: b"", 422, "empty"),
}


@pytest.mark.parametrize("kind", list(ONNX_CASES))
def test_onnx_abuse(uploads, kind):
    build, status, needle = ONNX_CASES[kind]
    refused(uploads, send_model(uploads, build()), status, needle)


def test_onnx_over_25_mb_file_limit(uploads):
    refused(uploads, send_model(uploads, K.onnx_big_initializer(25.3)), 413, "larger than 26.2 MB")


def test_onnx_over_the_body_limit(uploads):
    r = send_model(uploads, b"\x08\x08" + bytes(27 * 2**20))
    refused(uploads, r, 413, "at most 27.3 MB")


def test_onnx_upload_never_reads_the_external_path(uploads, tmp_path):
    """The model names a real file beside a temp dir; the refusal comes before any read."""
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.full(3 * 64, 0.5, np.float32).tobytes())
    r = send_model(uploads, K.onnx_external_data(str(secret)))
    refused(uploads, r, 422, "external data")
    assert secret.read_bytes()  # untouched, and nothing about it in the answer
    assert str(tmp_path) not in r.text


# ----------------------------------------------------------------------------- the gate


@contextmanager
def gate_held(client):
    """Every slot of the gate taken, from this (the test's) thread, through the portal that
    runs the app's event loop; released on exit."""
    gate = client.app.state.gate
    for _ in range(gate.slots):
        client.portal.call(gate.acquire)
    try:
        assert gate.free == 0
        yield gate
    finally:
        for _ in range(gate.slots):
            client.portal.call(gate.release)


def test_full_gate_answers_503_with_retry_after(models_dir):
    settings = Settings(models_dir=models_dir, heavy_concurrency=1, heavy_queue_timeout_s=0.2)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        with gate_held(c):
            t0 = time.perf_counter()
            r = c.post(CONV, json=conv_body())
            waited = time.perf_counter() - t0
            detail = refused(c, r, 503, "busy")
            assert r.headers["retry-after"] == "1", detail
            assert 0.15 < waited < 2.0
            r = upload(c, DIGIT_PNG)  # predict goes through the same gate
            assert r.status_code == 503 and r.headers["retry-after"] == "1"
            assert c.get("/api/health").status_code == 200  # the light routes still answer
            assert c.post("/api/softmax", json={"scores": [1, 2]}).status_code == 200
        assert c.app.state.gate.free == 1
        assert c.post(CONV, json=conv_body()).status_code == 200
        assert upload(c, DIGIT_PNG).status_code == 200
        assert c.app.state.gate.free == 1  # every request gave its slot back


def test_waiting_requests_hold_no_thread(models_dir):
    """More waiting requests than the thread pool has threads (40): once the slot frees,
    they all complete. A gate that waits in a worker thread starves here: the request
    holding the slot cannot get a thread to run its endpoint."""
    settings = Settings(models_dir=models_dir, heavy_concurrency=1, heavy_queue_timeout_s=5.0)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        statuses: list[int] = []
        with gate_held(c):
            threads = [threading.Thread(target=lambda: statuses.append(c.post(CONV, json=conv_body()).status_code))
                       for _ in range(48)]
            for t in threads:
                t.start()
            time.sleep(0.3)  # all of them are now waiting for the slot
            assert c.get("/api/health").status_code == 200
        t0 = time.perf_counter()
        for t in threads:
            t.join(10)
        assert statuses == [200] * 48
        assert time.perf_counter() - t0 < 4.0


@pytest.mark.parametrize("method,url,kwargs", [
    ("post", PREDICT, {"files": {"file": ("a.png", DIGIT_PNG, "image/png")}}),
    ("post", IMAGE, {"files": {"file": ("a.png", DIGIT_PNG, "image/png")}}),
    ("post", "/api/models/tiny-digits/inspect", {"files": {"file": ("a.png", DIGIT_PNG, "image/png")}}),
    ("post", CONV, {"json": conv_body()}),
    ("post", "/api/pool", {"json": {"input": {"shape": [1, 4, 4], "data": [0.0] * 16}}}),
    ("post", "/api/train/step", {"json": {}}),
    ("post", "/api/train/compare", {"json": {"steps": 10}}),
])
def test_heavy_routes_use_the_gate(models_dir, method, url, kwargs):
    settings = Settings(models_dir=models_dir, heavy_concurrency=1, heavy_queue_timeout_s=0.05)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        with gate_held(c):
            r = getattr(c, method)(url, **kwargs)
        assert r.status_code == 503, (url, r.status_code, r.text[:200])
        assert r.headers["retry-after"] == "1"


# ----------------------------------------------------------------------------- memory


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def test_memory_does_not_grow_across_1000_requests(hc):
    rng = np.random.default_rng(3)
    good_rgb = K.encode(Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)))
    requests = [
        lambda: upload(hc, DIGIT_PNG),
        lambda: upload(hc, good_rgb, url=PREDICT_RGB + "?explain=false"),
        lambda: upload(hc, NOT_IMAGES["random bytes"]),
        lambda: upload(hc, CORRUPT["truncated png"][0]),
        lambda: hc.post(CONV, json=conv_body()),
        lambda: hc.post(CONV, json=conv_body(stride=99)),
        lambda: post_json(hc, CONV, '{"input": [NaN'),
    ]
    expected = [200, 200, 415, 422, 200, 422, 422]

    def run(n: int) -> None:
        for i in range(n):
            k = i % len(requests)
            assert requests[k]().status_code == expected[k]

    run(140)  # warm-up: caches, arenas, lazily imported modules
    gc.collect()
    before = _rss_mb()
    t0 = time.perf_counter()
    run(1000)
    gc.collect()
    grown = _rss_mb() - before
    assert grown < 30, f"RSS grew by {grown:.1f} MB over 1,000 requests"
    assert time.perf_counter() - t0 < 20
    assert hc.get("/api/health").status_code == 200


def test_trace_takes_no_input_only_a_run_id(client):
    """The input does not travel back (a 4 MB body once); a forged or unknown run id is 410."""
    body = {"layer": "x", "channel": 0, "row": 0, "col": 0,
            "input": {"shape": [1, 1, 28, 28], "data": [1e300] * 784}}
    r = client.post("/api/models/lenet5/trace", json=body)
    assert r.status_code == 422 and "input" in r.json()["detail"]
    body = {"layer": "x", "channel": 0, "row": 0, "col": 0, "run": "A" * 22}
    r = client.post("/api/models/lenet5/trace", json=body)
    assert r.status_code in (404, 410) and r.json()["detail"]
    assert client.get("/api/health").status_code == 200
