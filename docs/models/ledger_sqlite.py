"""A model of the PAID transaction on SQLite with and without the ledger's entries, in Python's
sqlite3 (WAL, synchronous FULL, as the gateway runs it): which part of the ledger costs the
commit what. The variants run on databases of their own, interleaved in chunks of 1,500
transactions so that the disk's drifting sync time falls on all of them alike.
Run: python3 docs/models/ledger_sqlite.py (writes under /tmp/sq). See docs/benchmarks.md."""
import os
import sqlite3
import time

ORDERS = 40_000
CHUNK = 1_500
ROUNDS = 8

# name: (ledger entries written, once-per-posting index covers payments, account index)
VARIANTS = {
    "none": (False, True, True),
    "ledger (0020)": (True, True, True),
    "payments not in the once index": (True, False, True),
    "neither index": (True, False, False),
}


def setup(name, once_covers_payments, account_index):
    os.makedirs("/tmp/sq", exist_ok=True)
    path = f"/tmp/sq/{abs(hash(name))}.db"
    for suffix in ("", "-wal", "-shm"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=FULL")
    c.execute("CREATE TABLE orders (trade_no TEXT PRIMARY KEY, merchant_id TEXT, status TEXT,"
              " updated_at INT, paid_at INT, fee INT, pad TEXT)")
    c.execute("CREATE INDEX orders_status ON orders(status, paid_at)")
    c.execute("CREATE TABLE tr (id INTEGER PRIMARY KEY AUTOINCREMENT, trade_no TEXT, f TEXT,"
              " t TEXT, e TEXT, at INT)")
    c.execute("CREATE INDEX tr_trade_no ON tr(trade_no)")
    c.execute("CREATE TABLE ob (id INTEGER PRIMARY KEY AUTOINCREMENT, merchant TEXT,"
              " trade_no TEXT, body TEXT, due INT, state TEXT)")
    c.execute("CREATE INDEX ob_due ON ob(state, due)")
    c.execute("CREATE INDEX ob_trade_no ON ob(trade_no)")
    c.execute("CREATE TABLE le (id INTEGER PRIMARY KEY, pk TEXT, ref TEXT, line INT, kind TEXT,"
              " account TEXT, owner TEXT, cur TEXT, d INT, cr INT, at INT)")
    payments = "" if once_covers_payments else " AND pk <> 'payment'"
    c.execute(f"CREATE UNIQUE INDEX le_once ON le(pk, ref) WHERE line = 0{payments}")
    if account_index:
        c.execute("CREATE INDEX le_owned ON le(owner, account, cur, id) WHERE owner IS NOT NULL")
    c.execute("BEGIN")
    for i in range(ORDERS):
        c.execute("INSERT INTO orders VALUES (?, 'M100001', 'UNPAID', 0, NULL, NULL, ?)",
                  (f"P2026113012000000{i:010d}", "x" * 300))
    c.execute("COMMIT")
    return c


def chunk(c, ledger, start):
    began = time.perf_counter()
    for i in range(start, start + CHUNK):
        tn = f"P2026113012000000{i:010d}"
        c.execute("BEGIN")
        c.execute("UPDATE orders SET status='PAID', updated_at=?, paid_at=?, fee=?"
                  " WHERE trade_no=? AND status='UNPAID'", (i, i, 60 if ledger else None, tn))
        c.execute("INSERT INTO tr (trade_no, f, t, e, at) VALUES (?, ?, ?, ?, ?)",
                  (tn, "UNPAID", "PAID", "PAID", i))
        if ledger:
            rows = [
                ("payment", tn, 0, "payment", "channel:wallet:clearing", None, "CNY", 10000, 0, i),
                ("payment", tn, 1, "payment", "merchant:M100001:pending", "M100001", "CNY", 0, 10000, i),
                ("payment", tn, 2, "fee", "merchant:M100001:pending", "M100001", "CNY", 60, 0, i),
                ("payment", tn, 3, "fee", "platform:fee_income", None, "CNY", 0, 60, i),
            ]
            c.execute("INSERT INTO le (pk, ref, line, kind, account, owner, cur, d, cr, at) VALUES "
                      + ",".join(["(?,?,?,?,?,?,?,?,?,?)"] * len(rows)),
                      [x for row in rows for x in row])
        c.execute("INSERT INTO ob (merchant, trade_no, body, due, state) VALUES (?, ?, ?, ?, ?)",
                  ("M100001", tn, '{"a":1}' * 40, i, "PENDING"))
        c.execute("COMMIT")
    return time.perf_counter() - began


dbs = {name: (setup(name, once, account), ledger)
       for name, (ledger, once, account) in VARIANTS.items()}
seconds = dict.fromkeys(dbs, 0.0)
for r in range(ROUNDS):
    order = list(dbs.items()) if r % 2 == 0 else list(dbs.items())[::-1]
    for name, (c, ledger) in order:
        seconds[name] += chunk(c, ledger, r * CHUNK)
for name in dbs:
    print(f"{name:32} {ROUNDS * CHUNK / seconds[name]:7.0f}/s  ratio {seconds['none'] / seconds[name]:.3f}")
