-- Idempotency-Key records (Stripe's semantics): the first response to a POST is kept for 24
-- hours under (caller, key) and replayed to a retry with the same request; the same key with
-- another request is refused. The stored response can name a customer, so a withdrawal
-- deletes the records that mention them, and the whole table is purged after 24 hours.
CREATE TABLE idempotency_keys (
    scope           TEXT NOT NULL,
    key             TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    dealer_id       TEXT,
    status          TEXT NOT NULL CHECK (status IN ('in_progress', 'done')),
    response_status INTEGER,
    response_type   TEXT,
    response_location TEXT,
    response_etag   TEXT,
    response_body   BYTEA,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
CREATE INDEX idempotency_keys_dealer ON idempotency_keys (dealer_id);
