"""Uploaded models are private, quota-bounded, expiring and deletable (issue 14, part 2).

Two ``TestClient``s on one app are two browsers: each keeps its own ``convlab_client``
cookie. The store's caps and clock are set on the running app where a test needs them.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.services.store import Limits
from app.services.store_models import CACHE_ITEMS, HANDLE, new_handle
from tests.app.modelkit import tiny_cnn, write_model
from tests.app.storekit import redis_server
from tests.app.test_user_models import dense_model, png, upload

RED = {"file": ("r.png", png(colour=(255, 0, 0)), "image/png")}


def make_app(tmp_path_factory, **settings):
    shipped = tmp_path_factory.mktemp("models")
    write_model(shipped, "tiny", tiny_cnn(1, 28))
    runtime = tmp_path_factory.mktemp("runtime")
    return create_app(Settings(models_dir=shipped, runtime_dir=runtime, **settings))


@pytest.fixture
def app(tmp_path_factory):
    application = make_app(tmp_path_factory)
    with TestClient(application):
        yield application


def browser(application) -> TestClient:
    return TestClient(application)


def user_store(application):
    return application.state.models.user.store


def set_limits(application, **caps):
    store = user_store(application)
    store.limits = Limits(**{**store.limits.__dict__, **caps})


def test_upload_answers_a_private_handle(app):
    alice, bob = browser(app), browser(app)
    r = upload(alice, dense_model())
    assert r.status_code == 201, r.text
    handle = r.json()["name"]
    assert HANDLE.fullmatch(handle) and "httponly" in r.headers["set-cookie"].lower()
    for who in (alice, bob):  # listed to nobody, not even its owner
        assert [m["name"] for m in who.get("/api/models").json()["models"]] == ["tiny"]
    # whoever holds the handle may use it (a shared link), on purpose
    assert bob.get(f"/api/models/{handle}").json()["source"] == "user"
    assert bob.post(f"/api/models/{handle}/predict", files=RED).status_code == 200
    # a guess is a 404 that says why a real handle could be missing
    for guess in (handle[:-1] + ("A" if handle[-1] != "A" else "B"), "user-deadbeef", "user-"):
        for r in (bob.get(f"/api/models/{guess}"), bob.post(f"/api/models/{guess}/predict", files=RED)):
            assert r.status_code == 404 and "may have expired" in r.json()["detail"]
            assert "24 hours without use" in r.json()["detail"]


def test_handles_carry_128_random_bits():
    handles = [new_handle() for _ in range(2000)]
    assert len(set(handles)) == 2000
    assert all(re.fullmatch(r"user-[A-Za-z0-9_-]{22}", h) for h in handles)
    # 22 base64url characters: 132 bits, of which token_urlsafe(16) fills 128 at random;
    # every symbol turns up in the first 21 positions
    counts = Counter("".join(h[5:26] for h in handles))
    assert len(counts) == 64 and min(counts.values()) > 0.5 * 2000 * 21 / 64


def test_delete_own_model(app):
    alice = browser(app)
    handle = upload(alice, dense_model()).json()["name"]
    r = alice.delete(f"/api/models/{handle}")
    assert r.status_code == 204 and r.content == b""
    assert alice.get(f"/api/models/{handle}").status_code == 404
    assert alice.post(f"/api/models/{handle}/predict", files=RED).status_code == 404
    assert alice.delete(f"/api/models/{handle}").status_code == 404
    r = alice.delete("/api/models/tiny")
    assert r.status_code == 403 and "server's own models" in r.json()["detail"]
    assert user_store(app).usage() == (0, 0)


def test_quota_per_browser_and_no_eviction(tmp_path_factory):
    application = make_app(tmp_path_factory, client_models=2)
    with TestClient(application) as alice:
        mine = [upload(alice, dense_model(seed=s)).json()["name"] for s in range(2)]
        r = upload(alice, dense_model(seed=2))
        assert r.status_code == 429 and "limit per browser" in r.json()["detail"]
        bob = browser(application)
        theirs = [upload(bob, dense_model(seed=s)).json()["name"] for s in range(2)]
        assert upload(bob, dense_model(seed=9)).status_code == 429
        for handle in mine + theirs:  # nobody's upload pushed out anybody's model
            assert alice.post(f"/api/models/{handle}/predict", files=RED).status_code == 200
        alice.delete(f"/api/models/{mine[0]}")
        assert upload(alice, dense_model(seed=2)).status_code == 201


def test_quota_per_address_bounds_fresh_cookies(app):
    """Dropping the cookie gets a new client id, but not past the cap per address."""
    first = upload(browser(app), dense_model())
    size = user_store(app).usage()[0]
    set_limits(app, address_bytes=3 * size)
    assert [upload(browser(app), dense_model()).status_code for _ in range(3)] == [201, 201, 429]
    r = upload(browser(app), dense_model())
    assert r.status_code == 429 and "network address" in r.json()["detail"]
    assert browser(app).get(f"/api/models/{first.json()['name']}").status_code == 200


def test_full_store_refuses_with_507(app):
    alice = browser(app)
    held = upload(alice, dense_model()).json()["name"]
    size = user_store(app).usage()[0]
    set_limits(app, total_bytes=size + size // 2)
    r = upload(browser(app), dense_model(seed=1))
    assert r.status_code == 507
    assert "store of uploaded models is full" in r.json()["detail"]
    assert alice.post(f"/api/models/{held}/predict", files=RED).status_code == 200


def test_idle_models_expire(app):
    store = user_store(app)
    now = [1e9]
    store.clock = lambda: now[0]
    alice = browser(app)
    kept = upload(alice, dense_model()).json()["name"]
    idle = upload(alice, dense_model(seed=1)).json()["name"]
    now[0] += 20 * 3600
    assert alice.post(f"/api/models/{kept}/predict", files=RED).status_code == 200  # a use
    now[0] += 5 * 3600  # idle for 25 h, kept used 5 h ago
    r = alice.post(f"/api/models/{idle}/inspect", files=RED)
    assert r.status_code == 404 and "may have expired" in r.json()["detail"]
    assert alice.get(f"/api/models/{kept}").status_code == 200
    assert store.usage()[1] == 1


def test_evicted_from_the_process_cache_is_loaded_again(app):
    """The per-process cache holds CACHE_ITEMS models; the store keeps them all."""
    set_limits(app, owner_items=CACHE_ITEMS + 2)
    alice = browser(app)
    handles = [upload(alice, dense_model(seed=s)).json()["name"] for s in range(CACHE_ITEMS + 2)]
    assert len(app.state.models.user._cache) == CACHE_ITEMS
    r = alice.post(f"/api/models/{handles[0]}/predict", files=RED)
    assert r.status_code == 200 and r.json()["model"] == handles[0]


def test_bytes_changed_in_redis_are_checked_again(tmp_path_factory):
    """A shared Redis may be written by others: a model read from it passes every upload
    check again, so bytes swapped for a cost bomb there are refused, not run."""
    import redis

    from app.services.store_redis import PREFIX
    from tests.app.test_user_models import pooling_bomb_model

    with redis_server() as url, TestClient(make_app(tmp_path_factory, store_url=url)) as alice:
        handle = upload(alice, dense_model(c=3, h=256, w=256)).json()["name"]
        redis.Redis.from_url(url).set(PREFIX + "d:model:" + handle, pooling_bomb_model())
        alice.app.state.models.user._forget(handle)
        r = alice.post(f"/api/models/{handle}/predict", files=RED)
        assert r.status_code == 404 and "may have expired" in r.json()["detail"]
