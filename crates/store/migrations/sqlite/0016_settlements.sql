-- Settlement and withdrawal (issue #11, DESIGN §8, seed 002 资金结算方式). A settlement moves a
-- merchant's cleared pending money to available (and on to its own account where configured);
-- there is at most one per merchant, currency and business day (China time), so two processes
-- running the same day cannot both settle it, and its ledger posting is referenced by its number.
CREATE TABLE settlements (
    settlement_no TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    currency TEXT NOT NULL,
    business_date TEXT NOT NULL,
    origin TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    withdrawn INTEGER NOT NULL CHECK (withdrawn >= 0),
    settles_before INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX settlements_once ON settlements (merchant_id, currency, business_date);

-- A merchant's withdrawal of available money to its own account, idempotent on its number.
CREATE TABLE withdrawals (
    withdraw_no TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    out_withdraw_no TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX withdrawals_out_no ON withdrawals (merchant_id, out_withdraw_no);

-- Which process runs a business day's settlement job: a lease, so a crashed runner's day is
-- taken over; `finished_at` marks a day done so the others skip it.
CREATE TABLE settlement_runs (
    business_date TEXT PRIMARY KEY,
    lease_owner TEXT NOT NULL,
    lease_until INTEGER NOT NULL,
    finished_at INTEGER
);
