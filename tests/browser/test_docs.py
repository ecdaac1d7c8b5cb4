"""/docs: the offline Swagger UI inside the site's page (header, navigation, styles), and
"Try it out" filled with the course's examples, each of which the server answers with 200."""

from __future__ import annotations

import json
import urllib.request

import pytest

from app.routers.pages import NAV

OPERATIONS = ["/api/output-size", "/api/conv", "/api/pool", "/api/activation", "/api/softmax",
              "/api/lessons/neuron", "/api/lessons/network-params", "/api/lessons/dense-head"]


def _spec(live_server) -> dict:
    with urllib.request.urlopen(live_server + "/openapi.json", timeout=10) as r:
        return json.load(r)


def _examples(spec: dict, path: str) -> dict:
    body = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    return body.get("examples", {})


def _post(live_server, path: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(live_server + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_the_examples_are_the_courses(live_server):
    spec = _spec(live_server)
    conv = _examples(spec, "/api/conv")["course"]["value"]
    assert conv["input"]["shape"] == [1, 6, 6]
    assert conv["input"]["data"][:6] == [1, 0, 0, 0, 0, 1]  # the course's 6x6 binary image
    assert sorted(set(conv["input"]["data"])) == [0, 1]
    assert conv["weights"]["shape"] == [2, 1, 3, 3]
    assert conv["weights"]["data"][:9] == [1, -1, -1, -1, 1, -1, -1, -1, 1]  # diagonal
    assert conv["weights"]["data"][9:] == [-1, 1, -1] * 3  # vertical line
    pool = _examples(spec, "/api/pool")["max"]["value"]
    assert pool["input"]["shape"] == [1, 4, 4] and pool["kernel_size"] == 2 and pool["stride"] == 2
    assert _examples(spec, "/api/softmax")["course"]["value"] == {"scores": [3.2, 5.1, -1.7]}
    assert _examples(spec, "/api/lessons/network-params")["course"]["value"] == {"layers": [3, 4, 2]}
    # No operation offers a 1x1 toy as its first example.
    for path in OPERATIONS:
        assert _examples(spec, path), f"{path} has no example"


@pytest.mark.parametrize("path", OPERATIONS)
def test_every_example_runs(live_server, path):
    for name, example in _examples(_spec(live_server), path).items():
        status, body = _post(live_server, path, example["value"])
        assert status == 200, f"{path} example {name}: {status} {body}"
    if path == "/api/conv":
        status, body = _post(live_server, path, _examples(_spec(live_server), path)["course"]["value"])
        assert body["output"]["shape"] == [2, 4, 4]
        assert body["trace"]["value"] == 3  # the diagonal filter on the image's diagonal


@pytest.mark.no_axe("an open Swagger UI operation is Swagger's markup; test_accessibility audits /docs")
def test_docs_have_the_site_navigation(page, live_server, console_errors, shot):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server + "/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    current = page.locator('nav a[aria-current="page"]')
    assert current.inner_text().strip() == "API"
    for _, label in NAV:
        assert page.get_by_role("link", name=label, exact=True).first.is_visible()
    assert page.get_by_role("heading", level=1).inner_text().startswith("The ConvLab API")
    font = page.evaluate("getComputedStyle(document.querySelector('main')).fontFamily")
    assert "serif" not in font.replace("sans-serif", "")
    shot("docs-1280")
    # Try it out: the softmax operation is filled with the course's scores and runs.
    page.locator(".opblock-summary-path", has_text="/api/softmax").first.click()
    op = page.locator(".opblock.is-open")
    op.locator(".try-out__btn").click()
    body = json.loads(op.locator("textarea.body-param__text").input_value())
    assert body == {"scores": [3.2, 5.1, -1.7]}
    op.locator(".execute").click()
    status = op.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200"
    assert "probabilities" in op.locator(".live-responses-table .highlight-code").first.inner_text()
    shot("docs-try-softmax")
    assert console_errors == []


@pytest.mark.parametrize("width", [390])
def test_docs_at_phone_width(page, live_server, console_errors, shot, width):
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(live_server + "/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    shot("docs-phone")
    assert console_errors == []
