-- The ledger in one table (issue #11's benchmark): a posting is the entries that share its kind
-- and reference, numbered by `line`, instead of a row of its own that every entry points at. A
-- payment then appends its entries in one statement that rides with the order's audit row, and
-- the once-per-reference rule is a partial unique index on each posting's first line. The
-- merchant column and its index go too: a merchant's accounts are a key range of `account`
-- (`merchant:<id>:…`, `receiver:<id>:…`), which the account index serves.
CREATE TABLE ledger_lines (
    id INTEGER PRIMARY KEY,
    posting_kind TEXT NOT NULL,
    reference TEXT NOT NULL,
    line INTEGER NOT NULL CHECK (line >= 0),
    kind TEXT NOT NULL,
    account TEXT NOT NULL,
    currency TEXT NOT NULL,
    debit INTEGER NOT NULL CHECK (debit >= 0),
    credit INTEGER NOT NULL CHECK (credit >= 0),
    at INTEGER NOT NULL,
    CHECK ((debit = 0) <> (credit = 0))
);
INSERT INTO ledger_lines (id, posting_kind, reference, line, kind, account, currency, debit, credit, at)
SELECT e.id, p.kind, p.reference,
       ROW_NUMBER() OVER (PARTITION BY e.posting_id ORDER BY e.id) - 1,
       e.kind, e.account, e.currency, e.debit, e.credit, e.at
FROM ledger_entries e JOIN ledger_postings p ON p.id = e.posting_id;
DROP TABLE ledger_entries;
DROP TABLE ledger_postings;
ALTER TABLE ledger_lines RENAME TO ledger_entries;
CREATE UNIQUE INDEX ledger_entries_once ON ledger_entries (posting_kind, reference) WHERE line = 0;
CREATE INDEX ledger_entries_account ON ledger_entries (account, currency, id);
