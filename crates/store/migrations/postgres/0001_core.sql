-- Core schema. Amounts are integer minor units; times are Unix milliseconds; statuses are the
-- domain enums' text. The PostgreSQL migration of the same number is the same schema.

CREATE TABLE merchants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    sign_type TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    rsa_public_key TEXT,
    pay_types TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE request_nonces (
    merchant_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, nonce)
);
CREATE INDEX request_nonces_expiry ON request_nonces (expires_at);

CREATE TABLE orders (
    trade_no TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    out_trade_no TEXT NOT NULL,
    pay_type TEXT NOT NULL,
    status TEXT NOT NULL,
    currency TEXT NOT NULL,
    total_amount BIGINT NOT NULL CHECK (total_amount > 0),
    refund_reserved BIGINT NOT NULL DEFAULT 0,
    refunded_amount BIGINT NOT NULL DEFAULT 0,
    subject TEXT NOT NULL,
    body TEXT,
    notify_url TEXT NOT NULL,
    return_url TEXT,
    attach TEXT,
    buyer_id TEXT,
    channel_trade_no TEXT,
    expire_at BIGINT NOT NULL,
    paid_at BIGINT,
    closed_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK (refunded_amount >= 0 AND refunded_amount <= refund_reserved AND refund_reserved <= total_amount)
);
CREATE UNIQUE INDEX orders_merchant_out_trade_no ON orders (merchant_id, out_trade_no);
CREATE INDEX orders_status_expire ON orders (status, expire_at);

CREATE TABLE order_transitions (
    id BIGSERIAL PRIMARY KEY,
    trade_no TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    event TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX order_transitions_trade_no ON order_transitions (trade_no);

CREATE TABLE refunds (
    refund_no TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    out_refund_no TEXT NOT NULL,
    trade_no TEXT NOT NULL REFERENCES orders (trade_no),
    currency TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    channel_refund_no TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE UNIQUE INDEX refunds_merchant_out_refund_no ON refunds (merchant_id, out_refund_no);
CREATE INDEX refunds_trade_no ON refunds (trade_no);

-- The outbox: written in the same transaction as the state change it announces.
CREATE TABLE notifications (
    id BIGSERIAL PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    trade_no TEXT NOT NULL,
    kind TEXT NOT NULL,
    notify_url TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX notifications_due ON notifications (status, next_attempt_at);

-- The stored-value wallet channel (seed 004): its own book, as an upstream would keep it.
CREATE TABLE wallet_accounts (
    id TEXT PRIMARY KEY,
    currency TEXT NOT NULL,
    balance BIGINT NOT NULL CHECK (balance >= 0),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE wallet_topups (
    id BIGSERIAL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES wallet_accounts (id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    at BIGINT NOT NULL
);

CREATE TABLE wallet_merchant_balances (
    merchant_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    balance BIGINT NOT NULL CHECK (balance >= 0),
    PRIMARY KEY (merchant_id, currency)
);

CREATE TABLE wallet_payments (
    trade_no TEXT PRIMARY KEY,
    wallet_trade_no TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES wallet_accounts (id),
    merchant_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    refunded BIGINT NOT NULL DEFAULT 0,
    paid_at BIGINT NOT NULL,
    CHECK (refunded >= 0 AND refunded <= amount)
);

CREATE TABLE wallet_refunds (
    refund_no TEXT PRIMARY KEY,
    trade_no TEXT NOT NULL REFERENCES wallet_payments (trade_no),
    amount BIGINT NOT NULL CHECK (amount > 0),
    at BIGINT NOT NULL
);

-- Platform-wide secrets (the RSA key that signs RSA2 responses), sealed under the master key and
-- shared by every gateway process on the database.
CREATE TABLE platform_secrets (
    name TEXT PRIMARY KEY,
    value_sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
