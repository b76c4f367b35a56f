-- Payout card numbers sealed at rest (issue #11, PCI DSS 3.4): a database dump must not reveal
-- them. A bank-card payout keeps its number sealed under the master key for its payout number
-- (`card_no_sealed`, `v2:` as merchant secrets), the master key's keyed digest of it for that
-- payout (`card_no_hmac`, HMAC-SHA256, so a replayed request is recognised without the number)
-- and what views show (`card_no_masked`, the last four digits). `card_no` stays only for rows
-- written before this migration: the app seals them at its next start (compare-and-set per row)
-- and empties it; new rows never fill it.
ALTER TABLE payouts ADD COLUMN card_no_sealed TEXT;
ALTER TABLE payouts ADD COLUMN card_no_hmac TEXT;
ALTER TABLE payouts ADD COLUMN card_no_masked TEXT;
-- Each start looks for card numbers still in the clear: none, once they are sealed.
CREATE INDEX payouts_card_no_clear ON payouts (payout_no) WHERE card_no IS NOT NULL;
