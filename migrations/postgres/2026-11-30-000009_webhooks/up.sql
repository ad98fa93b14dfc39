-- Signed webhooks (Standard Webhooks 1.0): a dealer's endpoints, each subscribed to some kinds
-- of change event. The secret signs every delivery; after a rotation the one before keeps
-- signing beside it until `previous_secret_until`, so a receiver can switch without a gap.
CREATE TABLE webhooks (
    id                    BIGSERIAL PRIMARY KEY,
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
ALTER TABLE outbox_messages DROP CONSTRAINT outbox_messages_channel_check;
ALTER TABLE outbox_messages ADD CONSTRAINT outbox_messages_channel_check
    CHECK (channel IN ('email', 'sms', 'webhook'));
-- The endpoint a delivery goes to (deleting the endpoint keeps its finished deliveries).
ALTER TABLE outbox_messages
    ADD COLUMN webhook_id BIGINT REFERENCES webhooks (id) ON DELETE SET NULL;
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
