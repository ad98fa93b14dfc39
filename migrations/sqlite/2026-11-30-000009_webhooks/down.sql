-- The outbox is rebuilt as it was before webhooks (see up.sql for why), without their messages.
DROP TABLE webhook_deliveries;
DELETE FROM outbox_messages WHERE channel = 'webhook';
CREATE TABLE outbox_contents_copy AS
    SELECT message_id, recipients, subject, body_text, body_html FROM outbox_contents;
DROP TABLE outbox_contents;

CREATE TABLE outbox_messages_old (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    dealer_id       TEXT NOT NULL REFERENCES dealers (id),
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
INSERT INTO outbox_messages_old (id, dealer_id, customer_id, kind, channel, message_id, status,
        attempts, next_attempt_at, last_error, claimed_by, claimed_until, created_at, sent_at,
        purged_at)
    SELECT id, dealer_id, customer_id, kind, channel, message_id, status, attempts,
        next_attempt_at, last_error, claimed_by, claimed_until, created_at, sent_at, purged_at
    FROM outbox_messages;
DELETE FROM sqlite_sequence WHERE name = 'outbox_messages_old';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'outbox_messages_old', seq FROM sqlite_sequence WHERE name = 'outbox_messages';
DROP TABLE outbox_messages;
ALTER TABLE outbox_messages_old RENAME TO outbox_messages;

CREATE TABLE outbox_contents (
    message_id BIGINT PRIMARY KEY REFERENCES outbox_messages (id) ON DELETE CASCADE,
    recipients TEXT NOT NULL,
    subject    TEXT,
    body_text  TEXT NOT NULL,
    body_html  TEXT
);
INSERT INTO outbox_contents (message_id, recipients, subject, body_text, body_html)
    SELECT message_id, recipients, subject, body_text, body_html FROM outbox_contents_copy;
DROP TABLE outbox_contents_copy;

CREATE INDEX outbox_due ON outbox_messages (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_dealer ON outbox_messages (dealer_id, id);
CREATE INDEX outbox_customer ON outbox_messages (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX outbox_unlinked ON outbox_messages (dealer_id, kind) WHERE customer_id IS NULL;
CREATE INDEX outbox_unpurged ON outbox_messages (status, sent_at) WHERE purged_at IS NULL;
CREATE INDEX outbox_dealer_channel ON outbox_messages (dealer_id, channel, created_at);

DROP TABLE webhooks;
