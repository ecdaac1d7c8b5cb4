"""Model cards and predict, on tiny models built by the test (shipped models: test_shipped_predict)."""

from __future__ import annotations

import io
import json

import numpy as np
import onnxruntime as ort
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from app.config import Settings
from app.main import create_app
from tests.app.modelkit import tiny_cnn, write_model


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    write_model(folder, "tiny-digits", tiny_cnn(1, 28))
    write_model(folder, "tiny-rgb", tiny_cnn(3, 32, seed=1), channels="RGB", size=32,
                classes=list("abcdefghij"))
    bad = write_model(folder, "tampered", tiny_cnn(1, 28, seed=2))
    (folder / "tampered.onnx").write_bytes(tiny_cnn(1, 28, seed=3))  # sha256 no longer matches
    assert bad["onnx"]["sha256"]
    return folder


@pytest.fixture(scope="module")
def mclient(models_dir):
    with TestClient(create_app(Settings(models_dir=models_dir))) as c:
        yield c


def png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


NOISE_PNG = png(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)))


def digit_on_white(size=200, box=(20, 30, 90, 170), width=18) -> Image.Image:
    im = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(im)
    d.line([box[:2], (box[2], box[1]), (box[0] + 10, box[3])], fill="black", width=width)  # a "7"
    return im


def test_list_and_card(mclient):
    names = [m["name"] for m in mclient.get("/api/models").json()["models"]]
    assert names == ["tiny-digits", "tiny-rgb"]  # the tampered file is not served
    card = mclient.get("/api/models/tiny-rgb").json()
    assert card["input"]["channels"] == "RGB" and card["source"] == "shipped"


@pytest.mark.parametrize("name", ["nope", "..%2F..%2Fetc%2Fpasswd", "tampered"])
def test_unknown_model_404(mclient, name):
    r = mclient.get(f"/api/models/{name}")
    assert r.status_code == 404
    assert r.json()["detail"]


def test_predict_matches_onnxruntime_on_what_the_model_saw(mclient, models_dir):
    r = mclient.post("/api/models/tiny-digits/predict", files={"file": ("d.png", png(digit_on_white()), "image/png")})
    assert r.status_code == 200, r.text
    body = r.json()
    x = np.asarray(body["input"]["data"], dtype=np.float32).reshape([1, *body["input"]["shape"]])
    assert x.shape == (1, 1, 28, 28)
    sess = ort.InferenceSession(str(models_dir / "tiny-digits.onnx"), providers=["CPUExecutionProvider"])
    expected = sess.run(None, {"input": x})[0][0]
    np.testing.assert_allclose(body["probabilities"], expected, atol=1e-4)
    assert body["index"] == int(np.argmax(expected)) and body["label"] == str(body["index"])
    assert sum(body["probabilities"]) == pytest.approx(1.0, abs=1e-5)
    assert [t["label"] for t in body["top"]][0] == body["label"] and len(body["top"]) == 3
    names = [s["name"] for s in body["preprocessing"]]
    assert names == ["original", "grayscale", "inverted", "cropped", "scaled", "centred"]
    assert all(s["image"].startswith("data:image/png;base64,") for s in body["preprocessing"])
    assert set(body["timing_ms"]) == {"decode", "preprocess", "inference", "total"}


def test_predict_rgb_centre_crops(mclient):
    im = Image.new("RGB", (300, 150), (200, 30, 30))
    body = mclient.post("/api/models/tiny-rgb/predict", files={"file": ("a.jpg", png(im), "image/jpeg")}).json()
    assert body["input"]["shape"] == [3, 32, 32]
    assert [s["name"] for s in body["preprocessing"]] == ["original", "cropped", "scaled"]
    # (200/255 - 0.5) / 0.5 in the red channel everywhere
    red = np.asarray(body["input"]["data"][: 32 * 32])
    np.testing.assert_allclose(red, (200 / 255 - 0.5) / 0.5, atol=1e-3)


def test_predict_without_explain(mclient):
    body = mclient.post(
        "/api/models/tiny-rgb/predict?explain=false",
        files={"file": ("a.png", png(Image.new("RGB", (32, 32))), "image/png")},
    ).json()
    assert "preprocessing" not in body


@pytest.mark.parametrize(
    "payload,status,needle",
    [
        (b"", 422, "empty"),
        (b"hello, I am text", 415, "PNG, JPEG, WebP, GIF or BMP"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", 415, "not an image"),
        (b"%PDF-1.4\n1 0 obj", 415, "not an image"),
        (b"II*\x00\x08\x00\x00\x00", 415, "not an image"),  # TIFF
        (NOISE_PNG[: len(NOISE_PNG) // 2], 422, "truncated or corrupt"),
        (b"\xff\xd8\xff\xe0" + bytes(200), 422, "truncated or corrupt"),
    ],
)
def test_bad_uploads(mclient, payload, status, needle):
    r = mclient.post("/api/models/tiny-digits/predict", files={"file": ("x.png", payload, "image/png")})
    assert r.status_code == status, r.text
    assert needle in r.json()["detail"]
    assert mclient.get("/api/health").status_code == 200


def test_decompression_bomb_refused_from_header(mclient):
    # A 20000 x 20000 greyscale PNG compresses to a few hundred KB; the header is enough to refuse it.
    import struct
    import zlib

    w = h = 20000
    raw = zlib.compress(b"\x00" * (w + 1) * 64, 9)  # only a few rows; the header decides
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
    r = mclient.post("/api/models/tiny-digits/predict", files={"file": ("bomb.png", data, "image/png")})
    assert r.status_code == 413
    assert "16,777,216" in r.json()["detail"]


def test_two_files_refused(mclient):
    f = png(Image.new("L", (28, 28)))
    r = mclient.post(
        "/api/models/tiny-digits/predict",
        files=[("file", ("a.png", f, "image/png")), ("file", ("b.png", f, "image/png"))],
    )
    assert r.status_code in (400, 413, 422)


def test_missing_file_field(mclient):
    r = mclient.post("/api/models/tiny-digits/predict", data={"other": "x"})
    assert r.status_code == 422
    assert "file" in r.json()["detail"]


def test_oversized_upload_413(mclient):
    r = mclient.post(
        "/api/models/tiny-digits/predict",
        files={"file": ("big.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * (11 * 1024 * 1024), "image/png")},
    )
    assert r.status_code == 413


def test_cards_json_roundtrip(models_dir):
    card = json.loads((models_dir / "tiny-digits.json").read_text())
    assert card["input"]["layout"] == "NCHW"


def test_an_input_onnxruntime_refuses_is_a_422_not_a_500(tmp_path):
    from app.errors import ApiError
    from app.services.modelstore import ModelStore

    write_model(tmp_path, "tiny", tiny_cnn())
    store = ModelStore(threads=1)
    store.load_dir(tmp_path)
    with pytest.raises(ApiError) as info:
        store.get("tiny").infer(np.zeros((1, 1, 5, 7), np.float32))  # not the 28 x 28 it takes
    assert info.value.status_code == 422
    assert "onnxruntime could not run tiny" in info.value.detail
