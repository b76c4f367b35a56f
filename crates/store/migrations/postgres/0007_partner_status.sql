-- The partner's fulfilment status of each order (issue #10), and each step it reported, once:
-- `reported_at` is when it happened at the partner (Unix seconds, as the partner sent it, if it
-- did), `recorded_at` when we recorded it (milliseconds, as every other time here).
ALTER TABLE orders ADD COLUMN partner_status TEXT NOT NULL DEFAULT 'NONE';

CREATE TABLE partner_order_steps (
    trade_no TEXT NOT NULL,
    step TEXT NOT NULL,
    reported_at BIGINT,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (trade_no, step)
);
