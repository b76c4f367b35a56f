-- Share rules given at create (`split_rules`, issue #11): written in the order's insert
-- transaction, applied later as the split numbered `auto-<trade_no>` (by the background step for
-- `immediate`, by `/api/split/finish` for `on_finish`). Nothing here is written by the payment's
-- own transaction. Amounts are integer minor units, times Unix ms.
CREATE TABLE order_split_rules (
    trade_no TEXT PRIMARY KEY REFERENCES orders (trade_no),
    merchant_id TEXT NOT NULL,
    split_mode TEXT NOT NULL,
    -- JSON array of {receiver_id, amount (minor units), description}; never changes.
    rules TEXT NOT NULL,
    status TEXT NOT NULL,
    -- Failed attempts for a cause other than the split's own refusal (a database error).
    attempts BIGINT NOT NULL DEFAULT 0,
    fail_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- The step's search: rules not applied yet, by mode.
CREATE INDEX order_split_rules_due ON order_split_rules (status, split_mode, trade_no);
