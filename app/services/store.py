"""A small shared store for what must outlive one request: users' uploaded models and
live training runs.

One interface, two implementations:

- ``SQLiteStore`` (the default, needs nothing): one SQLite file in a runtime folder that
  only this server's user can open (0700), in WAL mode, so every ``--workers N`` process
  on one host sees every item;
- ``RedisStore`` (``CONVLAB_STORE_URL=redis://host:port/db``, app/services/store_redis.py), shared
  by every process on every host.

An item is ``(namespace, key) -> bytes + small JSON metadata``, with an owner (a client
id), the owner's network address and a size in bytes. An item not used for
``Limits.idle_s`` seconds is gone (every read touches it). ``put`` is atomic: it adds the
item only if the owner's, the address's and the whole store's byte caps still hold, and
otherwise raises ``StoreFull`` naming the cap; it never evicts another item to make room.

Namespaces given their own ``Limits`` (``spaces``, e.g. ``{"learn": ...}`` for training
runs) are counted and expired on their own: a run never takes a model's quota, and runs
expire after their own idle time. Every other namespace (``model``) shares the default
``limits``, as before. ``put(..., expect=(field, value))`` replaces an item only while
its metadata still has ``field == value`` (a version check; ``StoreConflict`` otherwise),
so two processes that both changed a run cannot both write it.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("convlab")

Clock = Callable[[], float]


@dataclass(frozen=True)
class Limits:
    """How much the store keeps, and for how long."""

    idle_s: float  # an item unused for this long expires
    total_bytes: int  # everything in the store
    owner_bytes: int  # one client (a browser's client id)
    owner_items: int
    address_bytes: int  # one network address (a class behind one NAT shares it)


@dataclass(frozen=True)
class Usage:
    """Bytes (and items) held before a put, as ``Limits.check`` needs them."""

    total: int
    owner: int
    owner_items: int
    address: int


class StoreFull(Exception):
    """``put`` refused: ``limit`` is 'total', 'owner', 'owner_items' or 'address'."""

    def __init__(self, limit: str, held: int, cap: int) -> None:
        super().__init__(f"{limit}: {held} held, cap {cap}")
        self.limit, self.held, self.cap = limit, held, cap


class StoreConflict(Exception):
    """``put(..., expect=...)`` refused: the item is gone or another writer got in first."""


class StoreUnavailable(Exception):
    """The store did not answer (Redis down, the SQLite file locked for too long)."""


def check_limits(limits: Limits, used: Usage, size: int) -> None:
    """Raise ``StoreFull`` unless an item of ``size`` bytes fits beside ``used``."""
    if used.owner_items + 1 > limits.owner_items:
        raise StoreFull("owner_items", used.owner_items, limits.owner_items)
    if used.owner + size > limits.owner_bytes:
        raise StoreFull("owner", used.owner, limits.owner_bytes)
    if used.address + size > limits.address_bytes:
        raise StoreFull("address", used.address, limits.address_bytes)
    if used.total + size > limits.total_bytes:
        raise StoreFull("total", used.total, limits.total_bytes)


@dataclass(frozen=True)
class Item:
    data: bytes
    meta: dict[str, Any]


class Store(ABC):
    """The interface. ``clock`` (seconds) is replaceable, so tests can move time on."""

    #: Whether anything but this server's own processes could have written an item
    #: (a Redis may be shared); users of the store validate such bytes again.
    trusted: bool = True

    def __init__(self, limits: Limits, clock: Clock = time.time,
                 spaces: dict[str, Limits] | None = None) -> None:
        self.limits = limits
        self.clock = clock
        self.spaces = dict(spaces or {})

    def limits_for(self, ns: str) -> Limits:
        """The caps and idle time of namespace ``ns`` (its own, or the default ones)."""
        return self.spaces.get(ns, self.limits)

    @abstractmethod
    def put(self, ns: str, key: str, data: bytes, meta: dict[str, Any], *, size: int,
            owner: str, address: str, expect: tuple[str, Any] | None = None) -> None:
        """Add (or replace) an item, counted as ``size`` bytes; ``StoreFull`` if over a cap.

        With ``expect=(field, value)`` only replace a live item whose metadata has
        ``field == value``; else ``StoreConflict`` (and nothing is written)."""

    @abstractmethod
    def get(self, ns: str, key: str) -> Item | None:
        """The item (and touch it), or None when there is none or it expired."""

    @abstractmethod
    def touch(self, ns: str, key: str) -> dict[str, Any] | None:
        """The item's metadata (and touch it), without reading its bytes; None if gone."""

    @abstractmethod
    def delete(self, ns: str, key: str) -> bool:
        """Remove an item; False when there was none."""

    @abstractmethod
    def usage(self, owner: str | None = None, ns: str | None = None) -> tuple[int, int]:
        """(bytes, items) held by ``owner``, or by everyone, in the accounting of ``ns``
        (None: all namespaces); expired items not counted."""

    def close(self) -> None:  # noqa: B027 (optional for implementations)
        """Release connections."""


def runtime_dir(path: Path | None) -> Path:
    """The folder for the embedded store: ``path`` or ``<tmp>/convlab-<uid>``, made 0700.

    Refused (SystemExit) when it is a symlink or belongs to another user: in a shared
    /tmp, another user could create the folder first and read the uploads.
    """
    folder = path or Path(tempfile.gettempdir()) / f"convlab-{os.getuid()}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = folder.lstat()
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise SystemExit(f"The runtime folder {folder} must be a folder of this user, not a "
                         "link; set CONVLAB_RUNTIME_DIR to another folder.")
    os.chmod(folder, 0o700)
    return folder


_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    ns TEXT NOT NULL, key TEXT NOT NULL, owner TEXT NOT NULL, address TEXT NOT NULL,
    size INTEGER NOT NULL, meta TEXT NOT NULL, data BLOB NOT NULL, used REAL NOT NULL,
    PRIMARY KEY (ns, key));
CREATE INDEX IF NOT EXISTS items_used ON items (used);
CREATE INDEX IF NOT EXISTS items_ns_used ON items (ns, used);
CREATE INDEX IF NOT EXISTS items_owner ON items (owner);
CREATE INDEX IF NOT EXISTS items_address ON items (address);
"""

# Running totals per namespace, per (namespace, owner) and per (namespace, address), kept
# by triggers in the same transaction as each insert and delete, so that a put's quota
# check reads a few rows instead of summing every item (with 10,000 items in a namespace
# the sums took milliseconds per put, on the path of every /inspect). Version 1 of the
# file's schema; an older file gets them built from its items once.
_TOTALS = """
CREATE TABLE totals_ns (ns TEXT PRIMARY KEY, size INTEGER NOT NULL, count INTEGER NOT NULL);
CREATE TABLE totals_owner (ns TEXT NOT NULL, owner TEXT NOT NULL, size INTEGER NOT NULL,
    count INTEGER NOT NULL, PRIMARY KEY (ns, owner));
CREATE TABLE totals_address (ns TEXT NOT NULL, address TEXT NOT NULL, size INTEGER NOT NULL,
    PRIMARY KEY (ns, address));
CREATE TRIGGER items_in AFTER INSERT ON items BEGIN
    INSERT INTO totals_ns VALUES (new.ns, new.size, 1) ON CONFLICT (ns)
        DO UPDATE SET size = size + new.size, count = count + 1;
    INSERT INTO totals_owner VALUES (new.ns, new.owner, new.size, 1) ON CONFLICT (ns, owner)
        DO UPDATE SET size = size + new.size, count = count + 1;
    INSERT INTO totals_address VALUES (new.ns, new.address, new.size) ON CONFLICT (ns, address)
        DO UPDATE SET size = size + new.size;
END;
CREATE TRIGGER items_out AFTER DELETE ON items BEGIN
    UPDATE totals_ns SET size = size - old.size, count = count - 1 WHERE ns = old.ns;
    UPDATE totals_owner SET size = size - old.size, count = count - 1
        WHERE ns = old.ns AND owner = old.owner;
    UPDATE totals_address SET size = size - old.size WHERE ns = old.ns AND address = old.address;
END;
CREATE TRIGGER items_resize AFTER UPDATE OF ns, owner, address, size ON items BEGIN
    SELECT RAISE(ABORT, 'items are replaced, never resized in place');
END;
INSERT INTO totals_ns SELECT ns, SUM(size), COUNT(*) FROM items GROUP BY ns;
INSERT INTO totals_owner SELECT ns, owner, SUM(size), COUNT(*) FROM items GROUP BY ns, owner;
INSERT INTO totals_address SELECT ns, address, SUM(size) FROM items GROUP BY ns, address;
PRAGMA user_version = 1;
"""


def _statements(script: str) -> list[str]:
    """``script``'s statements one by one (a trigger's body keeps its own semicolons)."""
    out, part = [], []
    for line in script.strip().splitlines():
        part.append(line)
        text = "\n".join(part)
        if line.rstrip().endswith(";") and sqlite3.complete_statement(text):
            out.append(text)
            part = []
    return out


class SQLiteStore(Store):
    """The embedded store: one SQLite file (WAL), one connection per thread.

    Writes take SQLite's write lock (``BEGIN IMMEDIATE``), so the quota check and the
    insert of ``put`` are one step for every process that opens the file.
    """

    trusted = True  # the file is in a 0700 folder: only this server's user writes it

    def __init__(self, path: Path, limits: Limits, clock: Clock = time.time,
                 spaces: dict[str, Limits] | None = None) -> None:
        super().__init__(limits, clock, spaces)
        self.path = path
        self._local = threading.local()
        db = self._db()
        db.executescript(_SCHEMA)
        with self._write() as db:  # one process adds the totals to an older file
            if db.execute("PRAGMA user_version").fetchone()[0] < 1:
                for statement in _statements(_TOTALS):
                    db.execute(statement)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None,
                                 check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:  # still locked after the 10 s timeout
            raise StoreUnavailable(str(exc)) from None
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _oldest_alive(self, ns: str) -> float:
        return self.clock() - self.limits_for(ns).idle_s

    def _scope(self, ns: str | None) -> tuple[str, list[Any]]:
        """SQL for the namespaces counted with ``ns`` (its own space, or all the others)."""
        if ns in self.spaces:
            return "ns = ?", [ns]
        if not self.spaces:
            return "1", []
        return f"ns NOT IN ({', '.join('?' * len(self.spaces))})", list(self.spaces)

    def _alive(self, ns: str | None = None) -> tuple[str, list[Any]]:
        """SQL for live items of ``ns``'s accounting (None: of every namespace)."""
        heads = [ns] if ns is not None else [*self.spaces, None]
        parts, args = [], []
        for head in heads:
            where, scope_args = self._scope(head)
            parts.append(f"({where} AND used >= ?)")
            args += [*scope_args, self.clock() - (self.limits_for(head).idle_s
                                                  if head is not None else self.limits.idle_s)]
        return "(" + " OR ".join(parts) + ")", args

    def put(self, ns, key, data, meta, *, size, owner, address, expect=None):
        limits = self.limits_for(ns)
        with self._write() as db:
            if expect is not None:
                row = db.execute("SELECT meta FROM items WHERE ns = ? AND key = ? AND used >= ?",
                                 (ns, key, self._oldest_alive(ns))).fetchone()
                if row is None or json.loads(row[0]).get(expect[0]) != expect[1]:
                    raise StoreConflict(f"{ns}:{key} is gone or changed")
            for head in [*self.spaces, None]:  # drop what has expired, each by its idle time
                where, args = self._scope(head)
                idle = self.limits_for(head).idle_s if head is not None else self.limits.idle_s
                db.execute(f"DELETE FROM items WHERE {where} AND used < ?",
                           [*args, self.clock() - idle])
            db.execute("DELETE FROM items WHERE ns = ? AND key = ?", (ns, key))
            where, args = self._scope(ns)
            total = db.execute(f"SELECT COALESCE(SUM(size), 0) FROM totals_ns WHERE {where}",
                               args).fetchone()[0]
            mine, count = db.execute("SELECT COALESCE(SUM(size), 0), COALESCE(SUM(count), 0) "
                                     f"FROM totals_owner WHERE {where} AND owner = ?",
                                     [*args, owner]).fetchone()
            near = db.execute(f"SELECT COALESCE(SUM(size), 0) FROM totals_address WHERE {where} "
                              "AND address = ?", [*args, address]).fetchone()[0]
            check_limits(limits, Usage(total, mine, count, near), size)
            db.execute("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (ns, key, owner, address, size, json.dumps(meta), data, self.clock()))

    def _touched(self, db: sqlite3.Connection, ns: str, key: str, columns: str):
        row = db.execute(f"SELECT {columns} FROM items WHERE ns = ? AND key = ? AND used >= ?",
                         (ns, key, self._oldest_alive(ns))).fetchone()
        if row is not None:
            db.execute("UPDATE items SET used = ? WHERE ns = ? AND key = ?", (self.clock(), ns, key))
        return row

    def get(self, ns, key):
        with self._write() as db:
            row = self._touched(db, ns, key, "data, meta")
        return None if row is None else Item(bytes(row[0]), json.loads(row[1]))

    def touch(self, ns, key):
        with self._write() as db:
            row = self._touched(db, ns, key, "meta")
        return None if row is None else json.loads(row[0])

    def delete(self, ns, key):
        with self._write() as db:
            gone = db.execute("DELETE FROM items WHERE ns = ? AND key = ? AND used >= ?",
                              (ns, key, self._oldest_alive(ns))).rowcount
        return gone > 0

    def usage(self, owner=None, ns=None):
        where, args = self._alive(ns)
        if ns is not None:
            scope, scope_args = self._scope(ns)
            where, args = f"{where} AND {scope}", [*args, *scope_args]
        if owner is not None:
            where, args = where + " AND owner = ?", [*args, owner]
        size, count = self._db().execute(
            f"SELECT COALESCE(SUM(size), 0), COUNT(*) FROM items WHERE {where}", args).fetchone()
        return int(size), int(count)

    def close(self):
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

