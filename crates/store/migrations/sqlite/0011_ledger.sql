-- The double-entry ledger (issue #11, DESIGN §8). A posting groups the transfers of one business
-- event; each transfer is two entry rows, a debit on one account and a credit on another, so every
-- posting balances and all accounts of a currency sum to zero. Entries are append-only: a
-- correction is a new posting. A reference posts each kind once (the unique index), so a replayed
-- event cannot count twice. Balances are sums of entries; no balance row is updated by a payment,
-- so concurrent payments of one merchant never wait on each other.
CREATE TABLE ledger_postings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    reference TEXT NOT NULL,
    currency TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE UNIQUE INDEX ledger_postings_once ON ledger_postings (kind, reference);

CREATE TABLE ledger_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    posting_id INTEGER NOT NULL REFERENCES ledger_postings (id),
    kind TEXT NOT NULL,
    account TEXT NOT NULL,
    merchant_id TEXT,
    currency TEXT NOT NULL,
    debit INTEGER NOT NULL CHECK (debit >= 0),
    credit INTEGER NOT NULL CHECK (credit >= 0),
    at INTEGER NOT NULL,
    CHECK ((debit = 0) <> (credit = 0))
);
CREATE INDEX ledger_entries_account ON ledger_entries (account, currency, id);
CREATE INDEX ledger_entries_merchant ON ledger_entries (merchant_id, currency);
CREATE INDEX ledger_entries_posting ON ledger_entries (posting_id);

-- One row per merchant and currency, updated first by every transaction that takes money out of
-- a merchant's balances (refund holds, payouts, shares, settlement): on PostgreSQL the update's
-- row lock serialises them per merchant, so two of them can never both see the same balance.
-- Payments only add, so they never take it.
CREATE TABLE ledger_locks (
    merchant_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, currency)
);
