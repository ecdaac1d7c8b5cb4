"""Users' uploaded models: private, kept in the shared store (app/services/store.py), and cached,
loaded, in each process.

- A model is named by an unguessable handle, ``user-`` + 128 random bits (22 URL-safe
  characters): whoever holds the handle can use or delete the model, nobody can list it.
- The store counts each model as the bytes it really holds once loaded
  (``Model.held_bytes``; 4x the file size when that is unknown), per client, per network
  address and in total; an upload past a cap is refused, nothing is evicted for it.
- A model unused for ``Limits.idle_s`` expires (every use touches it).
- Each process keeps up to ``CACHE_ITEMS`` loaded models (``CACHE_BYTES`` held) in an LRU
  and loads from the store on a miss; dropping one from the cache loses nothing.

Bytes loaded from the store are checked again only when someone else could have written
them. The embedded store is a file in a 0700 folder that only this server's user can
write, so its bytes get a sha256 check against their card (corruption) and are loaded as
they are. A Redis may be shared with other programs, so a model read from Redis is
treated as a new upload: ``build_user_model`` runs every check again (cost bounds,
onnx.checker, a timed test run) and rebuilds the card, once per process per model.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request, Response

from app.errors import ApiError, megabytes
from app.services.model import USER_MEMORY_FACTOR, Model, make_session
from app.services.store import Store, StoreFull, StoreUnavailable

log = logging.getLogger("convlab")

NS = "model"
HANDLE = re.compile(r"user-[A-Za-z0-9_-]{22}")
COOKIE = "convlab_client"
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{22}")
CACHE_ITEMS = 8
CACHE_BYTES = 160 * 1024 * 1024  # with the idle size and one request, within 600 MB


def new_handle() -> str:
    """``user-`` + 16 random bytes (128 bits) as URL-safe base64."""
    return "user-" + secrets.token_urlsafe(16)


def client_id(request: Request, response: Response) -> str:
    """The browser's client id (the ``convlab_client`` cookie, 128 random bits), set on
    ``response`` when the request has none. Quotas count per client id, not only per
    address, because a whole class may share one address behind a school's NAT."""
    cid = request.cookies.get(COOKIE, "")
    if not CLIENT_ID.fullmatch(cid):
        cid = secrets.token_urlsafe(16)
        response.set_cookie(COOKIE, cid, max_age=365 * 24 * 3600, httponly=True, samesite="lax")
    return cid


def counted_bytes(model: Model) -> int:
    """What a model counts against the caps: the bytes it holds once loaded."""
    return model.held_bytes or USER_MEMORY_FACTOR * len(model.onnx_bytes)


_mb = megabytes  # decimal MB, as every size a page shows


class UserModels:
    """Uploads in ``store`` (namespace ``model``), with a bounded cache of loaded ones."""

    def __init__(self, store: Store, threads: int = 1) -> None:
        self.store = store
        self.threads = threads
        self._cache: OrderedDict[str, Model] = OrderedDict()
        self._loading: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    @property
    def idle_hours(self) -> float:
        return self.store.limits.idle_s / 3600

    def missing(self, name: str) -> ApiError:
        """The 404 for a name that is not (or no longer) here."""
        return ApiError(404, f"There is no model called {name[:80]!r} on this server. An "
                             f"uploaded model is deleted after {self.idle_hours:g} hours "
                             "without use, or by its owner, so this one may have expired: "
                             "upload it again. "
                             "GET /api/models lists the shipped models.")

    @contextmanager
    def _answering(self) -> Iterator[None]:
        """A store that does not answer is a 503 that says so, never a 500 or a hang."""
        try:
            yield
        except StoreUnavailable as exc:
            log.error("the model store did not answer: %s", exc)
            raise ApiError(503, "The store of uploaded models is not answering right now; "
                                "try again in a minute.") from None

    def add(self, model: Model, *, owner: str, address: str) -> None:
        """Keep ``model`` in the store; 429 or 507 (which cap) when it does not fit."""
        size = counted_bytes(model)
        meta = {"card": model.card, "held_bytes": model.held_bytes}
        try:
            with self._answering():
                self.store.put(NS, model.name, model.onnx_bytes, meta, size=size, owner=owner,
                               address=address)
        except StoreFull as full:
            raise self._refusal(full, size) from None
        self._remember(model)

    def _refusal(self, full: StoreFull, size: int) -> ApiError:
        limits = self.store.limits
        held = f"this model counts {_mb(size)} (the memory it takes once loaded)"
        if full.limit == "owner_items":
            return ApiError(429, f"You already keep {full.held} models on this server, the "
                                 f"limit per browser. Delete one of your models, or wait: a "
                                 f"model unused for {self.idle_hours:g} hours is deleted.")
        if full.limit == "owner":
            return ApiError(429, f"Your models hold {_mb(full.held)} and {held}; the limit per "
                                 f"browser is {_mb(limits.owner_bytes)}. Delete one of your "
                                 "models first.")
        if full.limit == "address":
            return ApiError(429, f"Models uploaded from your network address hold "
                                 f"{_mb(full.held)} and {held}; the limit per address is "
                                 f"{_mb(limits.address_bytes)}. Delete a model, or try later.")
        return ApiError(507, f"The server's store of uploaded models is full ({_mb(full.held)} "
                             f"of {_mb(limits.total_bytes)}, and {held}). No model still in use "
                             f"is removed to make room; unused ones expire after "
                             f"{self.idle_hours:g} hours. Try again later.")

    def _remember(self, model: Model) -> None:
        with self._lock:
            self._cache[model.name] = model
            self._cache.move_to_end(model.name)
            while len(self._cache) > 1 and (
                    len(self._cache) > CACHE_ITEMS
                    or sum(counted_bytes(m) for m in self._cache.values()) > CACHE_BYTES):
                self._cache.popitem(last=False)

    def _forget(self, name: str) -> None:
        with self._lock:
            self._cache.pop(name, None)

    def _cached(self, name: str) -> Model | None:
        with self._lock:
            model = self._cache.get(name)
            if model is not None:
                self._cache.move_to_end(name)
            return model

    def get(self, name: str) -> Model:
        """The model named by a handle (touching it), or the 404 that says it may have expired."""
        if not HANDLE.fullmatch(name):
            raise self.missing(name)
        cached = self._cached(name)
        if cached is not None:
            with self._answering():
                alive = self.store.touch(NS, name) is not None
            if alive:
                return cached
            self._forget(name)  # deleted or expired, maybe by another process
            raise self.missing(name)
        with self._lock:  # one load per model: requests that miss together wait for it
            gate = self._loading.setdefault(name, threading.Lock())
        try:
            with gate:
                cached = self._cached(name)
                if cached is not None:
                    return cached
                with self._answering():
                    item = self.store.get(NS, name)
                if item is None:
                    raise self.missing(name)
                model = self._load(name, item.data, item.meta)
                self._remember(model)
                return model
        finally:
            with self._lock:
                self._loading.pop(name, None)

    def _load(self, name: str, data: bytes, meta: dict) -> Model:
        card = {**meta["card"], "name": name}
        if not self.store.trusted:
            return self._revalidate(name, data, card)
        if hashlib.sha256(data).hexdigest() != card["onnx"]["sha256"]:
            log.error("stored model %s does not match its card's sha256; not served", name)
            raise self.missing(name)
        return Model(name, card, data, make_session(data, self.threads), source="user",
                     held_bytes=int(meta.get("held_bytes", 0)))

    def _revalidate(self, name: str, data: bytes, card: dict) -> Model:
        """Every upload check again, from the bytes and the card's upload settings."""
        from app.services.usermodels import build_user_model

        spec = card["input"]
        try:
            return build_user_model(
                data, name=name, filename=card["onnx"]["file"],
                labels="\n".join(card["classes"]).encode(),
                mean=",".join(repr(float(v)) for v in spec["mean"]),
                std=",".join(repr(float(v)) for v in spec["std"]),
                preprocess="digit" if spec["background"] == "black" else "none",
                threads=self.threads)
        except (ApiError, KeyError, TypeError, ValueError) as exc:
            log.error("stored model %s failed its checks when loaded again: %s", name, exc)
            raise self.missing(name) from None

    def delete(self, name: str) -> bool:
        """Delete a model from the store and this process's cache; False if there was none."""
        self._forget(name)
        with self._answering():
            return HANDLE.fullmatch(name) is not None and self.store.delete(NS, name)

    def close(self) -> None:
        self.store.close()
