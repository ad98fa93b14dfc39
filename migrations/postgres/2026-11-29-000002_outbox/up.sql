-- The transactional outbox: a message exists if and only if the change that caused it
-- committed. The worker claims due rows with a lease, delivers, and records the outcome.
CREATE TABLE outbox_messages (
    id              BIGSERIAL PRIMARY KEY,
    dealer_id       TEXT NOT NULL REFERENCES dealers (id),
    -- The customer the message is about, so a withdrawal can purge what names them.
    customer_id     BIGINT,
    kind            TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    message_id      TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error      TEXT,
    claimed_by      TEXT,
    claimed_until   TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP,
    purged_at       TIMESTAMP
);
CREATE INDEX outbox_due ON outbox_messages (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_dealer ON outbox_messages (dealer_id, id);
CREATE INDEX outbox_customer ON outbox_messages (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX outbox_unlinked ON outbox_messages (dealer_id, kind) WHERE customer_id IS NULL;
CREATE INDEX outbox_unpurged ON outbox_messages (status, sent_at) WHERE purged_at IS NULL;

-- What a message says and to whom: personal information, kept apart so that the retention
-- purge (and a withdrawal) deletes it whole while the message row stays as the record of kind,
-- status and times.
CREATE TABLE outbox_contents (
    message_id BIGINT PRIMARY KEY REFERENCES outbox_messages (id) ON DELETE CASCADE,
    recipients TEXT NOT NULL,
    subject    TEXT,
    body_text  TEXT NOT NULL,
    body_html  TEXT
);
