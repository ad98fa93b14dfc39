-- Wrong one-time codes per identifier (a keyed hash), across verifications: 10 within 24 hours
-- lock the identifier for 24 hours. Kept 48 hours.
CREATE TABLE failed_codes (
    id             BIGSERIAL PRIMARY KEY,
    dealer_id      TEXT NOT NULL REFERENCES dealers (id),
    identifier_key TEXT NOT NULL,
    failed_at      TIMESTAMP NOT NULL
);
CREATE INDEX failed_codes_identifier ON failed_codes (dealer_id, identifier_key, failed_at);
CREATE INDEX failed_codes_time ON failed_codes (failed_at);

-- Who read a customer record, and when (POPIA s19: safeguards a dealer can show). No values.
CREATE TABLE customer_reads (
    id          BIGSERIAL PRIMARY KEY,
    dealer_id   TEXT NOT NULL REFERENCES dealers (id),
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    actor_role  TEXT NOT NULL,
    actor_sub   TEXT NOT NULL,
    read_at     TIMESTAMP NOT NULL
);
CREATE INDEX customer_reads_customer ON customer_reads (customer_id, id);
CREATE INDEX customer_reads_time ON customer_reads (read_at);

-- A withdrawn customer's reads, kept only as a count.
CREATE TABLE withdrawn_read_counts (
    customer_id BIGINT PRIMARY KEY REFERENCES customers (id),
    reads       BIGINT NOT NULL
);

-- The dealer's hourly SMS budget counts its recent SMS.
CREATE INDEX outbox_dealer_channel ON outbox_messages (dealer_id, channel, created_at);
