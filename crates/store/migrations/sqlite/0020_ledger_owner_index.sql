-- The account index covers only the accounts a payment checks or a merchant reads (issue #11's
-- benchmark): merchants' and receivers' accounts carry their merchant in `owner`, and the index
-- is partial on it. A payment's entries for the platform's and the channel's accounts then touch
-- no index page at all; those accounts are operators' reads, served in id order.
ALTER TABLE ledger_entries ADD COLUMN owner TEXT;
UPDATE ledger_entries
SET owner = substr(account, instr(account, ':') + 1,
                   instr(substr(account, instr(account, ':') + 1), ':') - 1)
WHERE account LIKE 'merchant:%' OR account LIKE 'receiver:%';
DROP INDEX ledger_entries_account;
CREATE INDEX ledger_entries_owned ON ledger_entries (owner, account, currency, id)
    WHERE owner IS NOT NULL;
