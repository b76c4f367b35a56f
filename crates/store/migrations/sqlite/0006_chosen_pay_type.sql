-- The way the payer's app chose for an aggregated (`auto`) order in the cashier; the order is
-- carried by that way's channel from then on.
ALTER TABLE orders ADD COLUMN chosen_pay_type TEXT;
