-- How each merchant's money is handled (issue #11): category, settlement mode, who bears
-- channel-kept fees, settlement cycle (auto T+N with a minimum, or manual), whether settlements
-- are paid out to the merchant's own account, and the qualifications recorded at onboarding
-- (a JSON object of document name to reference). A merchant without a row is a physical-goods
-- merchant with the defaults of `MerchantMoney::for_category`.
CREATE TABLE merchant_money (
    merchant_id TEXT PRIMARY KEY REFERENCES merchants (id),
    category TEXT NOT NULL,
    settlement_mode TEXT NOT NULL,
    fee_bearer TEXT NOT NULL,
    settle_manual INTEGER NOT NULL,
    settle_days INTEGER NOT NULL,
    settle_minimum INTEGER NOT NULL,
    withdraw_on_settlement INTEGER NOT NULL,
    qualifications TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
