-- Fees (issue #11): a merchant's fee schedule per channel product (pay type); a product without
-- a row is charged its category's default rate and no fixed part. Rates in parts per million,
-- fixed parts in minor units.
CREATE TABLE merchant_fee_schedules (
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    pay_type TEXT NOT NULL,
    rate_ppm BIGINT NOT NULL,
    fixed_minor BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, pay_type)
);

-- The fees of a paid order, snapshotted in the transaction that made it paid (NULL before it
-- was paid, or for orders paid before this migration): the product and settlement mode they were
-- charged under, the merchant's rate and fixed part and the fee they gave, the rate the channel
-- charged and its fee, and what refunds have given back of each so far.
ALTER TABLE orders ADD COLUMN fee_pay_type TEXT;
ALTER TABLE orders ADD COLUMN fee_mode TEXT;
ALTER TABLE orders ADD COLUMN fee_rate_ppm BIGINT;
ALTER TABLE orders ADD COLUMN fee_fixed BIGINT;
ALTER TABLE orders ADD COLUMN fee_amount BIGINT;
ALTER TABLE orders ADD COLUMN channel_fee_rate_ppm BIGINT;
ALTER TABLE orders ADD COLUMN channel_fee_amount BIGINT;
ALTER TABLE orders ADD COLUMN fee_returned BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN channel_fee_returned BIGINT NOT NULL DEFAULT 0;

-- Where a refund's amount was held from when it was accepted (unsettled funds first, then the
-- available balance, then, in direct mode, the merchant's own channel account), so a failure
-- gives it back where it came from; and the merchant's fee it gave back when it succeeded.
ALTER TABLE refunds ADD COLUMN held_from_pending BIGINT NOT NULL DEFAULT 0;
ALTER TABLE refunds ADD COLUMN held_from_available BIGINT NOT NULL DEFAULT 0;
ALTER TABLE refunds ADD COLUMN held_from_external BIGINT NOT NULL DEFAULT 0;
ALTER TABLE refunds ADD COLUMN fee_returned BIGINT NOT NULL DEFAULT 0;
