-- Signed webhooks (Standard Webhooks 1.0): a dealer's endpoints, each subscribed to some kinds
-- of change event. The secret signs every delivery; after a rotation the one before keeps
-- signing beside it until `previous_secret_until`, so a receiver can switch without a gap.
CREATE TABLE webhooks (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    dealer_id             TEXT NOT NULL REFERENCES dealers (id),
    url                   TEXT NOT NULL,
    -- JSON array of event kinds (`customer.created`, ...).
    events                TEXT NOT NULL,
    secret                TEXT NOT NULL,
    previous_secret       TEXT,
    previous_secret_until TIMESTAMP,
    created_at            TIMESTAMP NOT NULL,
    -- Set when the receiver answered 410 Gone: nothing more is queued or sent to it.
    disabled_at           TIMESTAMP
);
CREATE INDEX webhooks_dealer ON webhooks (dealer_id, id);

-- Deliveries are outbox messages on a third channel, queued in the event's own transaction.
-- SQLite cannot change a CHECK, so the outbox is rebuilt. Foreign keys are on (every connection
-- turns them on, and a migration's transaction cannot turn them off): dropping outbox_messages
-- would cascade into outbox_contents, so the contents are copied aside and both tables rebuilt.
CREATE TABLE outbox_contents_copy AS
    SELECT message_id, recipients, subject, body_text, body_html FROM outbox_contents;
DROP TABLE outbox_contents;

CREATE TABLE outbox_messages_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    dealer_id       TEXT NOT NULL REFERENCES dealers (id),
    -- The customer the message is about, so a withdrawal can purge what names them.
    customer_id     BIGINT,
    kind            TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'webhook')),
    message_id      TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error      TEXT,
    claimed_by      TEXT,
    claimed_until   TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP,
    purged_at       TIMESTAMP,
    -- The endpoint a delivery goes to (deleting the endpoint keeps its finished deliveries).
    webhook_id      BIGINT REFERENCES webhooks (id) ON DELETE SET NULL
);
INSERT INTO outbox_messages_new (id, dealer_id, customer_id, kind, channel, message_id, status,
        attempts, next_attempt_at, last_error, claimed_by, claimed_until, created_at, sent_at,
        purged_at)
    SELECT id, dealer_id, customer_id, kind, channel, message_id, status, attempts,
        next_attempt_at, last_error, claimed_by, claimed_until, created_at, sent_at, purged_at
    FROM outbox_messages;
-- Ids are never reused: the new table continues from the old one's high-water mark.
DELETE FROM sqlite_sequence WHERE name = 'outbox_messages_new';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'outbox_messages_new', seq FROM sqlite_sequence WHERE name = 'outbox_messages';
DROP TABLE outbox_messages;
ALTER TABLE outbox_messages_new RENAME TO outbox_messages;

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

-- Every index of the outbox, as migrations 000002 and 000007 made them, and the webhooks' own.
CREATE INDEX outbox_due ON outbox_messages (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_dealer ON outbox_messages (dealer_id, id);
CREATE INDEX outbox_customer ON outbox_messages (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX outbox_unlinked ON outbox_messages (dealer_id, kind) WHERE customer_id IS NULL;
CREATE INDEX outbox_unpurged ON outbox_messages (status, sent_at) WHERE purged_at IS NULL;
CREATE INDEX outbox_dealer_channel ON outbox_messages (dealer_id, channel, created_at);
CREATE INDEX outbox_webhook ON outbox_messages (webhook_id, id) WHERE webhook_id IS NOT NULL;

-- What the outbox row of a webhook delivery does not say: the event it announces and the HTTP
-- status the receiver last answered. Ids and codes only. (No foreign key: the outbox is rebuilt
-- by migrations.)
CREATE TABLE webhook_deliveries (
    message_id       BIGINT PRIMARY KEY,
    event_id         BIGINT NOT NULL,
    event_type       TEXT NOT NULL,
    last_status_code INTEGER
);
