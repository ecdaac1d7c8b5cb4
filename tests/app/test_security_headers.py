"""Every kind of response carries the security headers, from exactly two places:
app/security.py's one middleware for everything the app answers (pages, API, static
files, errors, FastAPI's own 413 and Starlette's 500 page), and app/protocol.py's
refusals for what ``convlab serve`` answers before a request reaches the app
(400, 408, 431, 503).
"""

from __future__ import annotations

import asyncio
import json
import types

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.protocol import MAX_HEAD_BYTES, ConvLabProtocol, Guard, json_error
from app.security import HEADERS, SecurityHeadersMiddleware
from tests.app import costly_inputs as ci
from tests.serverkit import LiveServer


def secured(headers) -> None:
    for key, value in HEADERS:
        assert headers.get(key.decode()) == value.decode(), key


def boom() -> dict:
    raise RuntimeError("a bug in a route")


@pytest.fixture(scope="module")
def app_client():
    app = create_app(Settings())
    app.add_api_route("/api/test-boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


APP_RESPONSES = {
    "200 page": ("GET", "/", {}, 200),
    "200 API": ("GET", "/api/health", {}, 200),
    "200 static": ("GET", "/static/css/main.css", {}, 200),
    "200 docs": ("GET", "/docs", {}, 200),
    "200 HEAD": ("HEAD", "/", {}, 200),
    "404 API": ("GET", "/api/nope", {}, 404),
    "404 page": ("GET", "/nope", {}, 404),
    "404 static": ("GET", "/static/nope.css", {}, 404),
    "405": ("DELETE", "/api/health", {}, 405),
    "422 validation": ("POST", "/api/softmax", {"json": {"scores": "x"}}, 422),
    "422 not JSON": ("POST", "/api/softmax", {"content": b"{", "headers": {"content-type": "application/json"}}, 422),
    "413 declared length": ("POST", "/api/softmax", {"content": b" " * (3 << 20),
                                                     "headers": {"content-type": "application/json"}}, 413),
    "500 handler": ("GET", "/api/test-boom", {}, 500),
}


@pytest.mark.parametrize("case", APP_RESPONSES)
def test_every_app_response_kind_is_secured(app_client, case):
    method, path, kwargs, status = APP_RESPONSES[case]
    r = app_client.request(method, path, **kwargs)
    assert r.status_code == status, r.text[:300]
    secured(r.headers)
    if status >= 400 and path.startswith("/api"):
        assert r.json()["detail"]


def test_one_security_middleware_outside_fastapis_own_layers(app_client):
    """The headers are added once, by the outermost layer (no second copy of a header)."""
    stack = app_client.app.build_middleware_stack()
    assert isinstance(stack, SecurityHeadersMiddleware)
    layers, inner = [], stack
    while hasattr(inner, "app"):
        layers.append(type(inner))
        inner = inner.app
    assert layers.count(SecurityHeadersMiddleware) == 1
    assert not any(m.cls is SecurityHeadersMiddleware for m in app_client.app.user_middleware)
    r = app_client.get("/api/health")
    for key, _ in HEADERS:
        assert len(r.headers.get_list(key.decode())) == 1, key


def test_a_header_the_response_sets_itself_is_kept(app_client):
    """A route's own value wins (the middleware adds only what is missing)."""
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"x-frame-options", b"SAMEORIGIN")]})
        await send({"type": "http.response.body", "body": b""})

    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(SecurityHeadersMiddleware(app)({"type": "http"}, None, send))
    headers = sent[0]["headers"]
    assert (b"x-frame-options", b"SAMEORIGIN") in headers
    assert [k for k, _ in headers].count(b"x-frame-options") == 1
    assert {k for k, _ in HEADERS} <= {k for k, _ in headers}


# ----------------------------------------------------------------------------- protocol level


@pytest.mark.parametrize("status", [400, 408, 431, 503])
def test_protocol_refusals_carry_the_headers(status):
    _, headers, body = json_error(status, "why")
    secured({k.decode(): v.decode() for k, v in headers})
    assert json.loads(body) == {"detail": "why"}


def _guard_answer(limit: int | None, tasks: int, headers: list) -> tuple[int, dict]:
    sent = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "raw_path": b"/", "query_string": b"", "headers": headers}
    asyncio.run(Guard(app, set(range(tasks)), limit)(scope, None, send))
    return sent[0]["status"], {k.decode(): v.decode() for k, v in sent[0]["headers"]}


def test_guard_431_and_503_carry_the_headers():
    status, headers = _guard_answer(None, 0, [(b"x-big", b"a" * (MAX_HEAD_BYTES + 1))])
    assert status == 431
    secured(headers)
    status, headers = _guard_answer(2, 3, [])
    assert status == 503 and headers["retry-after"] == "1"
    secured(headers)
    assert _guard_answer(2, 2, [])[0] == 200  # within the limit: the app answers


def test_408_written_by_the_protocol_carries_the_headers():
    written = []
    transport = types.SimpleNamespace(write=written.append, can_write_eof=lambda: False,
                                      close=lambda: None)
    conn = types.SimpleNamespace(cycle=None, transport=transport, refused=False)
    ConvLabProtocol._refuse(conn, 408, "too slow")  # type: ignore[arg-type]
    status, headers, body = ci.split_response(b"".join(written))
    assert status == 408 and json.loads(body) == {"detail": "too slow"}
    secured(headers)


def test_live_server_400_and_431_carry_the_headers():
    with LiveServer() as server:
        status, headers, _ = ci.split_response(ci.exchange(server.port, b"GARBAGE\r\n\r\n"))
        assert status == 400
        secured(headers)
        status, headers, _ = ci.split_response(ci.exchange(server.port, ci.big_header_request(100)))
        assert status == 431
        secured(headers)
        status, headers, _ = ci.split_response(ci.exchange(server.port, ci.request("GET", "/")))
        assert status == 200
        secured(headers)
