-- Whether a merchant's notify_url and return_url may point at loopback, private, link-local or
-- other non-public addresses (issue 6, DESIGN §11): 1 for a merchant on the gateway's own network
-- (and the demo), 0 by default.
ALTER TABLE merchants ADD COLUMN allow_private_notify INTEGER NOT NULL DEFAULT 0
    CHECK (allow_private_notify IN (0, 1));
