-- Payer consent (issue 6): a wallet is charged only with a one-time pay code its payer's wallet
-- issued. Codes and payer tokens are kept as SHA-256 digests, never as issued.

-- A pay code: bound to one account, valid 60 s, and bound to the first trade that presents it
-- (only that trade's retries may present it again); used_at records the debit.
CREATE TABLE wallet_paycodes (
    code_sha256 TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES wallet_accounts (id),
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    trade_no TEXT,
    used_at INTEGER
);
CREATE INDEX wallet_paycodes_expiry ON wallet_paycodes (expires_at);

-- The bearer token with which the payer's own app asks for pay codes.
ALTER TABLE wallet_accounts ADD COLUMN payer_token_sha256 TEXT;
CREATE UNIQUE INDEX wallet_accounts_payer_token ON wallet_accounts (payer_token_sha256);

-- What an idempotent retry of a create is compared against besides the columns orders had:
-- the pay code's digest, and the expiry exactly as the merchant sent it (NULL = the default).
ALTER TABLE orders ADD COLUMN auth_code_sha256 TEXT;
ALTER TABLE orders ADD COLUMN requested_expire_time INTEGER;
