-- Profit sharing (分账) and its return (分账回退), issue #11. Amounts are integer minor units,
-- times Unix ms. The money itself moves in the ledger (postings `profit_share` keyed by
-- split_no, `share_return` keyed by return_no or by the refund_no that forced the return); these
-- rows are the requests and what each receiver still holds.

-- The receivers a merchant may share to; removing one keeps its row for the history.
CREATE TABLE split_receivers (
    merchant_id TEXT NOT NULL,
    receiver_id TEXT NOT NULL,
    receiver_type TEXT NOT NULL,
    name TEXT NOT NULL,
    relation TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    removed_at INTEGER,
    PRIMARY KEY (merchant_id, receiver_id)
);

-- One row per merchant request: a share (kind `share`) or the end of sharing (kind `finish`),
-- idempotent on the merchant's number.
CREATE TABLE splits (
    split_no TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    out_split_no TEXT NOT NULL,
    trade_no TEXT NOT NULL,
    kind TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX splits_out_no ON splits (merchant_id, out_split_no);
CREATE INDEX splits_trade ON splits (trade_no);

-- What each share gave a receiver and how much of it came back.
CREATE TABLE split_shares (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    split_no TEXT NOT NULL REFERENCES splits (split_no),
    trade_no TEXT NOT NULL,
    receiver_id TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    returned INTEGER NOT NULL DEFAULT 0 CHECK (returned >= 0 AND returned <= amount)
);
CREATE UNIQUE INDEX split_shares_receiver ON split_shares (split_no, receiver_id);
CREATE INDEX split_shares_trade ON split_shares (trade_no);

-- Returns: asked for by the merchant (out_return_no set) or forced by a refund (refund_no set).
CREATE TABLE split_returns (
    return_no TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    out_return_no TEXT,
    refund_no TEXT,
    split_no TEXT NOT NULL,
    trade_no TEXT NOT NULL,
    receiver_id TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    created_at INTEGER NOT NULL,
    CHECK ((out_return_no IS NULL) <> (refund_no IS NULL))
);
CREATE UNIQUE INDEX split_returns_out_no ON split_returns (merchant_id, out_return_no);
CREATE INDEX split_returns_split ON split_returns (split_no);

-- An order's sharing state: how a refund takes shares back, and when sharing was finished.
CREATE TABLE split_orders (
    trade_no TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    return_policy TEXT NOT NULL,
    finished_at INTEGER
);
