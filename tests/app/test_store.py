"""The shared store (app/services/store.py): the same tests for the embedded SQLite store and for
Redis (a real redis-server), with a clock the tests move."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from app.services.store import Limits, SQLiteStore, StoreFull, runtime_dir
from tests.app.storekit import redis_server

LIMITS = Limits(idle_s=100, total_bytes=1000, owner_bytes=400, owner_items=3, address_bytes=600)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def redis_url():
    with redis_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path):
    clock = Clock()
    if request.param == "sqlite":
        s = SQLiteStore(tmp_path / "store.sqlite3", LIMITS, clock)
    else:
        import redis

        from app.services.store_redis import RedisStore

        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        client.flushdb()
        s = RedisStore(client, LIMITS, clock)
    yield s
    s.close()


def put(store, key, size, owner="alice", address="10.0.0.1", ns="model"):
    store.put(ns, key, key.encode() * 3, {"key": key}, size=size, owner=owner, address=address)


def test_put_get_touch_delete(store):
    put(store, "a", 100)
    item = store.get("model", "a")
    assert item.data == b"aaa" and item.meta == {"key": "a"}
    assert store.touch("model", "a") == {"key": "a"}
    assert store.get("other-namespace", "a") is None
    assert store.usage("alice") == (100, 1) and store.usage() == (100, 1)
    assert store.delete("model", "a") is True
    assert store.get("model", "a") is None and store.delete("model", "a") is False
    assert store.usage() == (0, 0)


def test_replacing_an_item_counts_it_once(store):
    put(store, "a", 300)
    put(store, "a", 350)
    assert store.usage("alice") == (350, 1)


@pytest.mark.parametrize("limit", ["owner", "owner_items", "address", "total"])
def test_each_cap_refuses_and_evicts_nothing(store, limit):
    if limit == "owner":
        put(store, "a", 300)
        blocked = dict(key="b", size=200)
    elif limit == "owner_items":
        for k in "abc":
            put(store, k, 10)
        blocked = dict(key="d", size=10)
    elif limit == "address":
        put(store, "a", 350)
        put(store, "b", 200, owner="bob")  # same address, another browser
        blocked = dict(key="c", size=100, owner="carol")
    else:
        put(store, "a", 350, address="10.0.0.1")
        put(store, "b", 350, owner="bob", address="10.0.0.2")
        put(store, "c", 250, owner="carol", address="10.0.0.3")
        blocked = dict(key="d", size=100, owner="dave", address="10.0.0.4")
    before = store.usage()
    with pytest.raises(StoreFull) as err:
        put(store, **blocked)
    assert err.value.limit == limit
    assert store.usage() == before and store.get("model", "a") is not None


def test_idle_items_expire_and_use_keeps_them(store):
    put(store, "a", 300)
    put(store, "b", 100)
    store.clock.now += 60
    assert store.touch("model", "a") is not None  # used: its 100 s start again
    store.clock.now += 60
    assert store.get("model", "b") is None  # 120 s idle: gone
    assert store.get("model", "a") is not None
    assert store.usage("alice") == (300, 1)
    put(store, "c", 100)  # b's bytes no longer count against alice
    store.clock.now += 101
    assert store.usage() == (0, 0) and store.delete("model", "a") is False


def test_concurrent_puts_never_pass_the_cap(store):
    """Eight threads race for a 400-byte owner cap with 100-byte items: exactly 3 fit (the
    item count caps first), whatever the interleaving."""
    errors: list[str] = []

    def one(i: int) -> None:
        try:
            put(store, f"k{i}", 100)
        except StoreFull as full:
            errors.append(full.limit)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.usage("alice") == (300, 3) and len(errors) == 5


def test_sqlite_store_is_shared_by_two_connections(tmp_path):
    """Two store objects on one file stand for two worker processes."""
    clock = Clock()
    a = SQLiteStore(tmp_path / "s.sqlite3", LIMITS, clock)
    b = SQLiteStore(tmp_path / "s.sqlite3", LIMITS, clock)
    put(a, "x", 300)
    assert b.get("model", "x").data == b"xxx"
    with pytest.raises(StoreFull):
        put(b, "y", 200)  # b sees a's bytes in alice's quota
    assert b.delete("model", "x") and a.get("model", "x") is None


def test_runtime_dir_is_private(tmp_path):
    folder = runtime_dir(tmp_path / "rt")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    os.chmod(folder, 0o755)
    assert stat.S_IMODE(runtime_dir(folder).stat().st_mode) == 0o700
    link = tmp_path / "link"
    link.symlink_to(folder)
    with pytest.raises(SystemExit, match="not a link"):
        runtime_dir(link)
