-- What the channel answered for a prepared trade (code_url, h5_url, invoke parameters), as JSON.
ALTER TABLE orders ADD COLUMN pay_data TEXT;
