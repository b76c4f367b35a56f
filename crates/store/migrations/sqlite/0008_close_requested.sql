-- When the merchant asked to close the order: a close the channel then reports (its
-- notification may arrive before our own settle, at any process) is the merchant's own and is
-- not announced back to it.
ALTER TABLE orders ADD COLUMN close_requested_at BIGINT;
