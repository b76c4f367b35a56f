-- A payment is posted only by its order's PAID change, a compare-and-set that the state machine
-- lets through once per order: the order row keeps each payment once, so the once-per-posting
-- index leaves payments out and a paid order writes one index page less (issue #11's benchmark).
-- Every other kind of posting is still kept once by the index.
DROP INDEX ledger_entries_once;
CREATE UNIQUE INDEX ledger_entries_once ON ledger_entries (posting_kind, reference)
    WHERE line = 0 AND posting_kind <> 'payment';
