"""The API does what /docs says: every status it answers is documented, with the body it sends.

Two halves. Property-based: Schemathesis generates requests from the OpenAPI schema,
valid and invalid, for every operation, and checks that none gets a 5xx, that each
status is one the operation documents, and that each body (errors included) matches
the documented schema. Example-based: one request per kind of error, checked the same
way, for the errors the generator rarely reaches (a body over the limit, an SVG).
"""

from __future__ import annotations

import io

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from PIL import Image
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.config import Settings
from app.errors import ERROR_MEANINGS, ErrorBody, ValidationErrorBody
from app.main import create_app
from app.services import learn_data

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance,
          content_type_conformance]


@pytest.fixture(scope="module", autouse=True)
def data_sets_loaded():
    """The generated requests meet a server past its start-up: each data set loaded once
    (a request during the first load gets 503 + Retry-After, by design; that case is
    tests/app/test_learn_data_loading.py's)."""
    for dataset in ("mnist", "cifar10"):
        learn_data.load(dataset, Settings().data_dir)


@schema.parametrize()
@settings(max_examples=30, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_generated_requests_get_documented_answers_and_never_a_5xx(case):
    case.call_and_validate(checks=CHECKS)


@pytest.fixture(scope="module")
def api():
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def operations(api) -> dict[tuple[str, str], dict]:
    paths = api.get("/openapi.json").json()["paths"]
    return {(method.upper(), path): op for path, ops in paths.items() for method, op in ops.items()}


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (28, 28), 255).save(buf, format="PNG")
    return buf.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>'

# (operation, how to send it, expected status)
ERRORS = [
    (("POST", "/api/conv"), dict(content=b'{"x": "\xff"}', headers={"content-type": "application/json"}), 400),
    (("POST", "/api/softmax"), dict(content=b"[" * 100_000, headers={"content-type": "application/json"}), 400),
    (("POST", "/api/models/{name}/predict"), dict(url="/api/models/lenet5/predict",
                                                   content=b"--x\r\nnot a form", headers={"content-type": "multipart/form-data; boundary=x"}), 400),
    (("GET", "/api/models/{name}"), dict(url="/api/models/no-such-model"), 404),
    (("GET", "/api/architectures/{name}"), dict(url="/api/architectures/no-such-net"), 404),
    (("GET", "/api/samples/{name}"), dict(url="/api/samples/no-such-sample"), 404),
    (("POST", "/api/models/{name}/predict"), dict(url="/api/models/no-such-model/predict",
                                                   files={"file": ("a.png", _png(), "image/png")}), 404),
    (("POST", "/api/conv"), dict(content=b"[" * 10 + b"0" * (3 * 2**20), headers={"content-type": "application/json"}), 413),
    (("POST", "/api/image"), dict(files={"file": ("a.svg", SVG, "image/svg+xml")}), 415),
    (("POST", "/api/models/{name}/inspect"), dict(url="/api/models/lenet5/inspect",
                                                   files={"file": ("a.svg", SVG, "image/svg+xml")}), 415),
    (("POST", "/api/conv"), dict(content=b"{not json", headers={"content-type": "application/json"}), 422),
    (("POST", "/api/output-size"), dict(json={"n": "seven"}), 422),
    (("GET", "/api/filters"), dict(url="/api/filters?size=0"), 422),
    (("POST", "/api/image"), dict(files={"file": ("a.png", b"", "image/png")}), 422),
]


@pytest.mark.parametrize(("operation", "request_kwargs", "status"), ERRORS,
                         ids=[f"{s}-{m} {p}" for (m, p), _, s in ERRORS])
def test_each_kind_of_error_is_documented_with_the_body_it_sends(
        api, operations, operation, request_kwargs, status):
    method, path = operation
    kwargs = dict(request_kwargs)
    url = kwargs.pop("url", path)
    r = api.request(method, url, **kwargs)
    assert r.status_code == status, r.text
    documented = operations[operation]["responses"]
    assert str(status) in documented, f"{method} {path} answers {status} but /docs does not say so"
    ref = documented[str(status)]["content"]["application/json"]["schema"]["$ref"]
    body_model = ValidationErrorBody if status == 422 else ErrorBody
    assert ref.endswith("/" + body_model.__name__)
    body = body_model.model_validate(r.json())
    assert body.detail.endswith((".", ")")) or status == 422, "detail is a sentence"
    assert set(r.json()) <= set(body_model.model_fields)


def test_every_error_status_says_what_it_means(operations):
    """No operation carries FastAPI's default 422 (a list of errors in ``detail``): ConvLab's
    ``detail`` is always a sentence; and each documented error has this API's meaning."""
    seen = set()
    for (method, path), op in operations.items():
        for code, response in op["responses"].items():
            if code.startswith(("4", "5")):
                seen.add(int(code))
                assert response["description"] == ERROR_MEANINGS[int(code)], (method, path, code)
    assert seen == set(ERROR_MEANINGS)


def test_routes_document_the_errors_their_shape_allows(operations):
    """Bodies can be unreadable, too large or invalid; names can be unknown; the heavy
    routes can be busy; image uploads can be the wrong format."""
    for (method, path), op in operations.items():
        codes = set(op["responses"])
        if "requestBody" in op:
            assert {"400", "413", "422"} <= codes, (method, path)
        if "{name}" in path:
            assert "404" in codes, (method, path)
    heavy = [("POST", "/api/conv"), ("POST", "/api/models/{name}/predict"),
             ("POST", "/api/models/{name}/inspect"), ("POST", "/api/train/step")]
    for op in heavy:
        assert "503" in operations[op]["responses"], op
    for op in [("POST", "/api/image"), ("POST", "/api/models/{name}/predict"),
               ("POST", "/api/models/{name}/inspect")]:
        assert "415" in operations[op]["responses"], op
    assert "415" not in operations[("POST", "/api/models")]["responses"]  # an ONNX file, not an image
    assert set(operations[("GET", "/api/health")]["responses"]) == {"200"}
