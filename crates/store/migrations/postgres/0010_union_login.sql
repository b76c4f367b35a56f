-- Union login (seed 000 §三, issue #10): a partner's user logs into the cashier through a
-- one-time ticket and pays from a platform wallet account with a pay password.

-- Each merchant's AES-256-GCM key for the union-login link, sealed under the master key for
-- "<merchant_id>/union-login". Created on first use, so merchants made before this need nothing.
ALTER TABLE merchants ADD COLUMN union_login_key_sealed TEXT;

-- A partner's user, bound to the wallet account opened at its first login. The phone number
-- reaches us only as the partner's MD5 of it.
CREATE TABLE union_users (
    merchant_id TEXT NOT NULL,
    partner_user_id TEXT NOT NULL,
    account_id TEXT NOT NULL UNIQUE REFERENCES wallet_accounts (id),
    phone_md5 TEXT NOT NULL,
    nickname TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, partner_user_id)
);

-- A login ticket, kept as its SHA-256 digest: used once (used_at), before expires_at.
CREATE TABLE cashier_tickets (
    ticket_sha256 TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES wallet_accounts (id),
    trade_no TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX cashier_tickets_expiry ON cashier_tickets (expires_at);

-- A payer's cashier session, kept as the SHA-256 digest of its cookie's token.
CREATE TABLE cashier_sessions (
    token_sha256 TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES wallet_accounts (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX cashier_sessions_expiry ON cashier_sessions (expires_at);

-- The payer's pay password (argon2 PHC string) and its wrong-guess lock.
ALTER TABLE wallet_accounts ADD COLUMN pay_password_hash TEXT;
ALTER TABLE wallet_accounts ADD COLUMN pay_password_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE wallet_accounts ADD COLUMN pay_locked_until BIGINT;
