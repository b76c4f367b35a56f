-- The merchant's `disable_credit` (issue #10): the cashier offers neither credit nor
-- installments, and channels that can be told so are told. 0 or 1, so that both engines read
-- it alike; a create retry must send the same value.
ALTER TABLE orders ADD COLUMN disable_credit BIGINT NOT NULL DEFAULT 0;
