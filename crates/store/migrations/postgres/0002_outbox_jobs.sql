-- Delivery of the outbox and the jobs that keep order states true (issue 3).

ALTER TABLE notifications ADD COLUMN lease_owner TEXT;
ALTER TABLE notifications ADD COLUMN lease_until BIGINT;
ALTER TABLE notifications ADD COLUMN notify_host TEXT NOT NULL DEFAULT '';
ALTER TABLE notifications ADD COLUMN last_error TEXT;
ALTER TABLE notifications ADD COLUMN finished_at BIGINT;
CREATE INDEX notifications_trade_no ON notifications (trade_no);

-- Every delivery attempt, once: the unique key makes a second recorder of the same attempt fail.
CREATE TABLE notification_attempts (
    id BIGSERIAL PRIMARY KEY,
    notification_id BIGINT NOT NULL REFERENCES notifications (id),
    attempt_no BIGINT NOT NULL,
    at BIGINT NOT NULL,
    http_status BIGINT,
    latency_ms BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    response_excerpt TEXT,
    worker TEXT NOT NULL
);
CREATE UNIQUE INDEX notification_attempts_once ON notification_attempts (notification_id, attempt_no);

-- A merchant's own notification schedule: delays in seconds, comma-separated; NULL = seed 003's.
ALTER TABLE merchants ADD COLUMN notify_delays_secs TEXT;

-- Orders and refunds whose outcome at the channel is unknown, queried until it is known.
CREATE TABLE status_polls (
    subject TEXT NOT NULL,
    kind TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    first_at BIGINT NOT NULL,
    next_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    PRIMARY KEY (kind, subject)
);
CREATE INDEX status_polls_due ON status_polls (next_at);

-- What the jobs found that needs a person: e.g. a payment that arrived after we closed the order.
CREATE TABLE order_anomalies (
    id BIGSERIAL PRIMARY KEY,
    trade_no TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    detected_at BIGINT NOT NULL,
    resolved_at BIGINT
);
CREATE UNIQUE INDEX order_anomalies_once ON order_anomalies (trade_no, kind);
