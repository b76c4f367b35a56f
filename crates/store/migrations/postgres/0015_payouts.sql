-- Payouts (代付 / 转代付, issue #11, DESIGN §8). A payout is accepted in one transaction with its
-- ledger hold (available -> reserved); each later status change (PROCESSING -> SUCCESS | FAILED,
-- SUCCESS -> RETURNED) is a compare-and-set in one transaction with its posting and the
-- merchant's notification. `fee` is the fee as it was when the payout was accepted. The card
-- number is kept whole because the bank rail needs it; views, logs and notifications mask it.
CREATE TABLE payouts (
    payout_no TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    out_payout_no TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    fee BIGINT NOT NULL CHECK (fee >= 0),
    payee_type TEXT NOT NULL,
    wallet_account_id TEXT,
    card_no TEXT,
    account_name TEXT,
    bank_code TEXT,
    rail TEXT NOT NULL,
    remark TEXT,
    notify_url TEXT,
    status TEXT NOT NULL,
    reason TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT,
    returned_at BIGINT
);
CREATE UNIQUE INDEX payouts_out_no ON payouts (merchant_id, out_payout_no);
-- The limit sums and the call rate read a merchant's recent payouts.
CREATE INDEX payouts_merchant_time ON payouts (merchant_id, created_at);

-- A merchant's own payout limits; a merchant without a row has the configured defaults.
CREATE TABLE merchant_payout_limits (
    merchant_id TEXT PRIMARY KEY REFERENCES merchants (id),
    per_payout_max BIGINT NOT NULL,
    daily_max BIGINT NOT NULL,
    monthly_max BIGINT NOT NULL,
    calls_per_minute_max BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The wallet rail's own book: one credit per payout, so a retried submit credits once.
CREATE TABLE wallet_payout_credits (
    payout_no TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    amount BIGINT NOT NULL,
    at BIGINT NOT NULL
);
