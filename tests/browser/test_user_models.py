"""Private uploaded models on the classify page: "Your models" from this browser's
handles, a shared link opened in a fresh browser, and an expired handle that says so.

The app runs in its own processes here: one with a small test model and its own store,
and one whose models expire after two seconds without use.
"""

from __future__ import annotations

import time

import pytest

from tests.app.modelkit import tiny_cnn, write_model
from tests.app.netkit import lenet5
from tests.browser.test_classify import api, no_overflow

SAVED_KEY = "convlab-my-models"
IDLE_HOURS = 2 / 3600  # two seconds


def _server(start_server, tmp_path_factory, **env):
    folder = tmp_path_factory.mktemp("models")
    write_model(folder, "lenet-test", lenet5(seed=3))
    return start_server(CONVLAB_MODELS_DIR=str(folder),
                        CONVLAB_RUNTIME_DIR=str(tmp_path_factory.mktemp("runtime")), **env)


@pytest.fixture(scope="module")
def base(start_server, tmp_path_factory):
    return _server(start_server, tmp_path_factory)


@pytest.fixture(scope="module")
def brief_base(start_server, tmp_path_factory):
    return _server(start_server, tmp_path_factory, CONVLAB_MODEL_IDLE_HOURS=str(IDLE_HOURS))


def upload_by_api(base: str, seed: int = 9) -> dict:
    return api(base, "/api/models", {"file": ("shared-net.onnx", tiny_cnn(1, 28, seed=seed),
                                              "application/octet-stream")})


def wait_for_verdict(page):
    page.wait_for_selector("#result:not([hidden]) #verdict-label:not(:empty)")


def saved(page) -> list[dict]:
    return page.evaluate(f"() => JSON.parse(localStorage.getItem('{SAVED_KEY}') || '[]')")


def test_your_models_are_kept_in_this_browser_and_deleted(page, base, console_errors, shot):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/classify")
    wait_for_verdict(page)
    assert page.locator("#my-models").is_hidden()
    page.locator("#byo summary").click()
    page.set_input_files("#byo-file", files=[{"name": "my-net.onnx", "mimeType": "application/octet-stream",
                                              "buffer": tiny_cnn(1, 28, seed=9)}])
    with page.expect_response(lambda r: r.url.endswith("/api/models") and r.request.method == "POST") as up:
        page.locator("#byo-submit").click()
    handle = up.value.json()["name"]
    page.wait_for_function("() => document.querySelector('#byo-status').textContent.startsWith('Accepted')")
    wait_for_verdict(page)
    assert [m["name"] for m in saved(page)] == [handle]
    assert handle not in [m["name"] for m in api(base, "/api/models")["models"]]  # private

    page.reload()  # the server lists it to nobody: the page finds it from localStorage
    wait_for_verdict(page)
    mine = page.locator("#my-models li")
    assert mine.count() == 1 and "Your model: my-net.onnx" in mine.inner_text()
    assert "hours is deleted" in page.locator("#my-models .mine-help").inner_text()
    assert page.locator("#model-select optgroup[label='Your models'] option").count() == 1
    assert page.locator(f"#my-models a[href='/classify?model={handle}']").count() == 1
    shot("user-models-1280")
    page.set_viewport_size({"width": 390, "height": 800})
    no_overflow(page)
    shot("user-models-390")

    page.select_option("#model-select", handle)
    # Its predict and inspect finish first: a request still in flight when the model is
    # deleted rightly gets a 404, which the browser logs (seen on a loaded machine).
    wait_for_verdict(page)
    page.wait_for_load_state("networkidle")
    with page.expect_response(lambda r: r.request.method == "DELETE") as gone:
        page.get_by_role("button", name="Delete Your model: my-net.onnx").click()
    assert gone.value.status == 204
    page.wait_for_selector("#my-models", state="hidden")
    assert "Deleted" in page.locator("#models-note").inner_text()
    assert page.locator("#model-select").input_value() == "lenet-test"
    assert saved(page) == []
    wait_for_verdict(page)
    assert console_errors == []


def test_a_shared_link_works_in_a_fresh_browser(browser, page, base, console_errors, shot):
    """``page`` is the recipient's; the model was uploaded by someone else (the API)."""
    card = upload_by_api(base)
    page.set_viewport_size({"width": 1280, "height": 900})
    with page.expect_response(lambda r: r.url.endswith("/inspect")) as resp:
        page.goto(f"{base}/classify?model={card['name']}")
    assert resp.value.status == 200 and resp.value.json()["model"] == card["name"]
    wait_for_verdict(page)
    assert page.locator("#model-select").input_value() == card["name"]
    assert "Your model: shared-net.onnx" in page.locator("#model-card").inner_text()
    assert page.locator("#my-models li").count() == 1  # now listed in this browser too
    assert page.locator("#models-note").is_hidden()
    shot("user-models-shared-link-1280")
    # a stranger's fresh browser without the link sees none of it
    other = browser.new_context().new_page()
    other.goto(f"{base}/classify")
    other.wait_for_selector("#result:not([hidden]) #verdict-label:not(:empty)")
    assert other.locator("#my-models").is_hidden()
    assert card["name"] not in other.locator("#model-select").inner_html()
    other.context.close()
    assert console_errors == []


@pytest.mark.parametrize("width", [1280, 390])
def test_an_expired_handle_says_so_and_is_dropped(page, brief_base, console_errors, shot, width):
    card = upload_by_api(brief_base, seed=width)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{brief_base}/classify")
    wait_for_verdict(page)
    page.evaluate("([key, list]) => localStorage.setItem(key, JSON.stringify(list))",
                  [SAVED_KEY, [{"name": card["name"], "title": card["title"]}]])
    time.sleep(IDLE_HOURS * 3600 + 0.5)
    page.goto(f"{brief_base}/classify?model={card['name']}")
    wait_for_verdict(page)
    note = page.locator("#models-note")
    assert note.is_visible()
    assert "“Your model: shared-net.onnx” is no longer on the server" in note.inner_text()
    assert "Showing “" in note.inner_text()
    assert page.locator("#model-select").input_value() == "lenet-test"
    assert "model=lenet-test" in page.url
    assert page.locator("#my-models").is_hidden() and saved(page) == []
    no_overflow(page)
    shot(f"user-models-expired-{width}")
    # Chromium logs each 404 itself; nothing else went wrong
    assert all("status of 404" in e for e in console_errors)
