"""The store in Redis (``CONVLAB_STORE_URL=redis://host:port/db``), shared by every
process on every host; the interface and the caps are app/services/store.py's.

Keys, under the prefix ``convlab:``:

- ``d:<ns>:<key>`` the bytes, ``m:<ns>:<key>`` the metadata (JSON);
- ``used`` a sorted set of ``<ns>:<key>`` scored by the time of last use, which says
  what has expired;
- ``info`` a hash ``<ns>:<key>`` -> ``{"size", "owner", "address"}``, and ``bytes`` a
  hash of running totals (``total``, ``o:<owner>``, ``n:<owner>``, ``a:<address>``).
- A namespace with limits of its own (``spaces``, e.g. ``learn``) has its own
  ``used:<ns>`` and ``bytes:<ns>``; every other namespace uses ``used`` and ``bytes``.

``put`` is one optimistic transaction (WATCH ``used`` and ``bytes``, MULTI/EXEC, retried
when another process got in between): it drops expired items, checks the caps with
``check_limits`` and adds the item, so two processes can never both take the last byte.
``put(..., expect=(field, value))`` also WATCHes the item's metadata and writes only
while it still has ``field == value`` (``StoreConflict`` otherwise).
The data keys also get a Redis expiry (idle time + 1 hour), so Redis frees the memory of
expired items even when no ConvLab process calls ``put`` any more.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis

from app.services.store import (
    Clock,
    Item,
    Limits,
    Store,
    StoreConflict,
    StoreUnavailable,
    Usage,
    check_limits,
)

PREFIX = "convlab:"
USED, INFO, BYTES = PREFIX + "used", PREFIX + "info", PREFIX + "bytes"
MARGIN_S = 3600
RETRIES = 50


F = TypeVar("F", bound=Callable[..., Any])


def _answering(method: F) -> F:
    """Redis errors (down, timed out, too busy) become ``StoreUnavailable``."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except redis.RedisError as exc:
            raise StoreUnavailable(str(exc)) from None
    return wrapper  # type: ignore[return-value]


def _id(ns: str, key: str) -> str:
    return f"{ns}:{key}"


class RedisStore(Store):
    """The store in Redis. Not ``trusted``: another program may write to a shared Redis."""

    trusted = False

    def __init__(self, client: redis.Redis, limits: Limits, clock: Clock = time.time,
                 spaces: dict[str, Limits] | None = None) -> None:
        super().__init__(limits, clock, spaces)
        self.r = client

    @classmethod
    def from_url(cls, url: str, limits: Limits,
                 spaces: dict[str, Limits] | None = None) -> RedisStore:
        try:
            client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
            client.ping()
        except (redis.RedisError, ValueError) as exc:
            raise SystemExit(f"CONVLAB_STORE_URL: cannot use the Redis at {url!r}: {exc}") from None
        return cls(client, limits, spaces=spaces)

    def _keys(self, ns: str | None) -> tuple[str, str]:
        """The ``used`` sorted set and ``bytes`` totals that count ``ns``."""
        return (USED + ":" + ns, BYTES + ":" + ns) if ns in self.spaces else (USED, BYTES)

    def _idle_s(self, ns: str) -> float:
        return self.limits_for(ns).idle_s

    def _expire_ms(self, ns: str) -> int:
        return int((self._idle_s(ns) + MARGIN_S) * 1000)

    def _drop(self, pipe, ids: list[str], infos: list[Any], used_key: str = USED,
              bytes_key: str = BYTES) -> None:
        """Queue the removal of items (and their share of the totals) on a MULTI pipeline."""
        for item_id, raw in zip(ids, infos, strict=True):
            pipe.delete(PREFIX + "d:" + item_id, PREFIX + "m:" + item_id)
            pipe.zrem(used_key, item_id)
            pipe.hdel(INFO, item_id)
            if raw is not None:
                info = json.loads(raw)
                pipe.hincrby(bytes_key, "total", -info["size"])
                pipe.hincrby(bytes_key, "o:" + info["owner"], -info["size"])
                pipe.hincrby(bytes_key, "n:" + info["owner"], -1)
                pipe.hincrby(bytes_key, "a:" + info["address"], -info["size"])

    @_answering
    def put(self, ns, key, data, meta, *, size, owner, address, expect=None):
        item_id = _id(ns, key)
        used_key, bytes_key = self._keys(ns)
        limits = self.limits_for(ns)
        for _ in range(RETRIES):
            with self.r.pipeline() as pipe:
                try:
                    pipe.watch(used_key, bytes_key, INFO, PREFIX + "m:" + item_id)
                    now = self.clock()
                    if expect is not None:
                        used = pipe.zscore(used_key, item_id)
                        raw_meta = pipe.get(PREFIX + "m:" + item_id)
                        if (used is None or used < now - limits.idle_s or raw_meta is None
                                or json.loads(raw_meta).get(expect[0]) != expect[1]):
                            raise StoreConflict(f"{item_id} is gone or changed")
                    gone = [m.decode() for m in
                            pipe.zrangebyscore(used_key, "-inf", f"({now - limits.idle_s}")]
                    if pipe.zscore(used_key, item_id) is not None and item_id not in gone:
                        gone.append(item_id)  # a replacement: the old one's bytes go first
                    infos = pipe.hmget(INFO, gone) if gone else []
                    held = {k.decode(): int(v) for k, v in pipe.hgetall(bytes_key).items()}
                    for raw in infos:  # what the totals will be once the dropped are gone
                        if raw is not None:
                            info = json.loads(raw)
                            for name in ("total", "o:" + info["owner"], "a:" + info["address"]):
                                held[name] = held.get(name, 0) - info["size"]
                            held["n:" + info["owner"]] = held.get("n:" + info["owner"], 0) - 1
                    check_limits(limits, Usage(
                        held.get("total", 0), held.get("o:" + owner, 0),
                        held.get("n:" + owner, 0), held.get("a:" + address, 0)), size)
                    pipe.multi()
                    self._drop(pipe, gone, infos, used_key, bytes_key)
                    ms = self._expire_ms(ns)
                    pipe.set(PREFIX + "d:" + item_id, data, px=ms)
                    pipe.set(PREFIX + "m:" + item_id, json.dumps(meta), px=ms)
                    pipe.zadd(used_key, {item_id: now})
                    pipe.hset(INFO, item_id, json.dumps(
                        {"size": size, "owner": owner, "address": address}))
                    pipe.hincrby(bytes_key, "total", size)
                    pipe.hincrby(bytes_key, "o:" + owner, size)
                    pipe.hincrby(bytes_key, "n:" + owner, 1)
                    pipe.hincrby(bytes_key, "a:" + address, size)
                    pipe.execute()
                    return
                except redis.WatchError:
                    continue
        raise StoreUnavailable("the store was too busy to add the item")

    def _alive(self, ns: str, used: float | None) -> bool:
        return used is not None and used >= self.clock() - self._idle_s(ns)

    def _touch(self, ns: str, item_id: str) -> None:
        with self.r.pipeline(transaction=False) as pipe:
            pipe.zadd(self._keys(ns)[0], {item_id: self.clock()}, xx=True)
            pipe.pexpire(PREFIX + "d:" + item_id, self._expire_ms(ns))
            pipe.pexpire(PREFIX + "m:" + item_id, self._expire_ms(ns))
            pipe.execute()

    @_answering
    def get(self, ns, key):
        item_id = _id(ns, key)
        with self.r.pipeline(transaction=False) as pipe:
            pipe.zscore(self._keys(ns)[0], item_id)
            pipe.get(PREFIX + "m:" + item_id)
            pipe.get(PREFIX + "d:" + item_id)
            used, meta, data = pipe.execute()
        if not self._alive(ns, used) or meta is None or data is None:
            return None
        self._touch(ns, item_id)
        return Item(bytes(data), json.loads(meta))

    @_answering
    def touch(self, ns, key):
        item_id = _id(ns, key)
        with self.r.pipeline(transaction=False) as pipe:
            pipe.zscore(self._keys(ns)[0], item_id)
            pipe.get(PREFIX + "m:" + item_id)
            used, meta = pipe.execute()
        if not self._alive(ns, used) or meta is None:
            return None
        self._touch(ns, item_id)
        return json.loads(meta)

    @_answering
    def delete(self, ns, key):
        item_id = _id(ns, key)
        used_key, bytes_key = self._keys(ns)
        for _ in range(RETRIES):
            with self.r.pipeline() as pipe:
                try:
                    pipe.watch(used_key, INFO)
                    used = pipe.zscore(used_key, item_id)
                    if used is None:
                        return False
                    raw = pipe.hget(INFO, item_id)
                    pipe.multi()
                    self._drop(pipe, [item_id], [raw], used_key, bytes_key)
                    pipe.execute()
                    return self._alive(ns, used)
                except redis.WatchError:
                    continue
        raise StoreUnavailable("the store was too busy to delete the item")

    @_answering
    def usage(self, owner=None, ns=None):
        now = self.clock()
        size = count = 0
        heads = [ns] if ns is not None else [*self.spaces, None]
        for head in heads:
            used_key = self._keys(head)[0]
            idle = self.limits_for(head).idle_s if head is not None else self.limits.idle_s
            alive = self.r.zrangebyscore(used_key, now - idle, "+inf")
            if not alive:
                continue
            for raw in self.r.hmget(INFO, alive):
                if raw is not None:
                    info = json.loads(raw)
                    if owner is None or info["owner"] == owner:
                        size, count = size + info["size"], count + 1
        return size, count

    def close(self):
        self.r.close()
