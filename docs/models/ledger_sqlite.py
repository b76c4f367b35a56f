"""A model of the PAID transaction on SQLite, with and without the ledger entries, in Python's
sqlite3 (WAL, synchronous FULL or NORMAL): which part of the ledger costs the commit what.
Run: python3 docs/models/ledger_sqlite.py (writes under /tmp/sq). See docs/benchmarks.md."""
import sqlite3, time, os, sys
def run(variant, n=6000, sync="FULL", acct_index=True, uniq=True):
    os.makedirs("/tmp/sq", exist_ok=True)
    path=f"/tmp/sq/{variant}.db"
    for suf in ("","-wal","-shm"):
        try: os.remove(path+suf)
        except FileNotFoundError: pass
    c=sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL"); c.execute(f"PRAGMA synchronous={sync}")
    c.execute("CREATE TABLE orders (trade_no TEXT PRIMARY KEY, merchant_id TEXT, status TEXT, updated_at INT, paid_at INT, fee INT, pad TEXT)")
    c.execute("CREATE INDEX o_m ON orders(merchant_id, status)")
    c.execute("CREATE TABLE tr (id INTEGER PRIMARY KEY AUTOINCREMENT, trade_no TEXT, f TEXT, t TEXT, e TEXT, at INT)")
    c.execute("CREATE INDEX tr_t ON tr(trade_no)")
    c.execute("CREATE TABLE ob (id INTEGER PRIMARY KEY AUTOINCREMENT, merchant TEXT, trade_no TEXT, body TEXT, due INT, state TEXT)")
    c.execute("CREATE INDEX ob_d ON ob(state, due)")
    c.execute("CREATE TABLE le (id INTEGER PRIMARY KEY, pk TEXT, ref TEXT, line INT, kind TEXT, account TEXT, cur TEXT, d INT, cr INT, at INT)")
    if uniq: c.execute("CREATE UNIQUE INDEX le_once ON le(pk, ref) WHERE line = 0")
    if acct_index: c.execute("CREATE INDEX le_acct ON le(account, cur, id)")
    c.execute("BEGIN")
    for i in range(n):
        c.execute("INSERT INTO orders VALUES (?, 'M100001', 'UNPAID', 0, NULL, NULL, ?)", (f"P2026113012000000{i:010d}", "x"*300))
    c.execute("COMMIT")
    t=time.perf_counter()
    for i in range(n):
        tn=f"P2026113012000000{i:010d}"
        c.execute("BEGIN")
        c.execute("UPDATE orders SET status='PAID', updated_at=?, paid_at=?, fee=? WHERE trade_no=? AND status='UNPAID'", (i,i,60,tn))
        c.execute("INSERT INTO tr (trade_no,f,t,e,at) VALUES (?,?,?,?,?)", (tn,'UNPAID','PAID','PAID',i))
        if variant!="none":
            rows=[("payment",tn,0,"payment","channel:wallet:clearing","CNY",10000,0,i),("payment",tn,1,"payment","merchant:M100001:pending","CNY",0,10000,i),
                  ("payment",tn,2,"fee","merchant:M100001:pending","CNY",60,0,i),("payment",tn,3,"fee","platform:fee_income","CNY",0,60,i)]
            c.execute("INSERT INTO le (pk,ref,line,kind,account,cur,d,cr,at) VALUES "+",".join(["(?,?,?,?,?,?,?,?,?)"]*4), [x for r in rows for x in r])
        c.execute("INSERT INTO ob (merchant,trade_no,body,due,state) VALUES (?,?,?,?,?)", ('M100001',tn,'{"a":1}'*40,i,'PENDING'))
        c.execute("COMMIT")
    el=time.perf_counter()-t
    return n/el
for sync in ["FULL","NORMAL"]:
    base=run("none", sync=sync)
    for name,kw in [("ledger",{}),("noacct",{"acct_index":False}),("nouniq",{"uniq":False})]:
        r=run("l", sync=sync, **kw)
        print(sync, name, f"none {base:.0f}/s ledger {r:.0f}/s ratio {r/base:.3f}", flush=True)
