"""The embedded store's running totals: the quota check of a put reads them instead of
summing every item, so they must always equal the sums, through puts, replacements,
deletes and expiry, and an older file (without them) gets them built once."""

from __future__ import annotations

import random
import sqlite3

from app.services.store import Limits, SQLiteStore

BIG = Limits(idle_s=100, total_bytes=10**9, owner_bytes=10**9, owner_items=10**6,
             address_bytes=10**9)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def sums(path) -> tuple[list, list, list]:
    db = sqlite3.connect(path)
    q = lambda sql: sorted(tuple(r) for r in db.execute(sql).fetchall() if r[-1])  # noqa: E731
    truth = (q("SELECT ns, SUM(size), COUNT(*) FROM items GROUP BY ns"),
             q("SELECT ns, owner, SUM(size), COUNT(*) FROM items GROUP BY ns, owner"),
             q("SELECT ns, address, SUM(size) FROM items GROUP BY ns, address"))
    kept = (q("SELECT ns, size, count FROM totals_ns WHERE count > 0"),
            q("SELECT ns, owner, size, count FROM totals_owner WHERE count > 0"),
            q("SELECT ns, address, size FROM totals_address WHERE size > 0"))
    db.close()
    return truth, kept


def test_totals_follow_every_change(tmp_path):
    clock = Clock()
    store = SQLiteStore(tmp_path / "s.db", BIG, clock,
                        spaces={"runs": Limits(idle_s=10, total_bytes=10**9, owner_bytes=10**9,
                                               owner_items=10**6, address_bytes=10**9)})
    rng = random.Random(0)
    for _ in range(400):
        ns = rng.choice(["runs", "models", "learn"])
        key = str(rng.randrange(40))
        action = rng.random()
        if action < 0.6:
            size = rng.randrange(1, 500)
            store.put(ns, key, b"x" * size, {}, size=size, owner=rng.choice("ab"),
                      address=rng.choice(["1.1.1.1", "2.2.2.2"]))
        elif action < 0.8:
            store.delete(ns, key)
        else:
            clock.t += rng.choice([1, 5, 20])  # "runs" expire after 10 s, the rest after 100
        truth, kept = sums(tmp_path / "s.db")
        assert kept == truth


def test_an_older_file_gets_its_totals_built(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript("""CREATE TABLE items (ns TEXT NOT NULL, key TEXT NOT NULL, owner TEXT NOT NULL,
        address TEXT NOT NULL, size INTEGER NOT NULL, meta TEXT NOT NULL, data BLOB NOT NULL,
        used REAL NOT NULL, PRIMARY KEY (ns, key));""")
    db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, '{}', x'00', 1000.0)",
                   [("models", "k1", "a", "ip", 10), ("models", "k2", "b", "ip", 5),
                    ("runs", "r", "", "", 7)])
    db.commit()
    db.close()
    SQLiteStore(path, BIG, Clock())
    truth, kept = sums(path)
    assert kept == truth and truth[0] == [("models", 15, 2), ("runs", 7, 1)]
    SQLiteStore(path, BIG, Clock())  # opening again builds nothing twice
    assert sums(path)[1] == kept


def test_a_put_reads_no_whole_namespace(tmp_path):
    """The statements of a put: expiry by the (ns, used) index, quotas from the totals."""
    SQLiteStore(tmp_path / "s.db", BIG, Clock())
    db = sqlite3.connect(tmp_path / "s.db")
    plan = db.execute("EXPLAIN QUERY PLAN DELETE FROM items WHERE ns = ? AND used < ?",
                      ("runs", 1.0)).fetchall()
    assert "items_ns_used" in str(plan), plan
    for sql in ("SELECT COALESCE(SUM(size), 0) FROM totals_ns WHERE ns = ?",
                "SELECT COALESCE(SUM(size), 0) FROM totals_owner WHERE ns = ? AND owner = 'a'"):
        assert "SEARCH" in str(db.execute("EXPLAIN QUERY PLAN " + sql, ("runs",)).fetchall())
