-- Dealers and their key contacts (staff who receive the POPIA emails), kept as a JSON array:
-- they are always read and written with the dealer.
CREATE TABLE dealers (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    website      TEXT NOT NULL,
    key_contacts TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);

-- The core customer record. Personal fields are nullable because de-identification clears them
-- while the id (the "core customer id") stays.
CREATE TABLE customers (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    dealer_id       TEXT NOT NULL REFERENCES dealers (id),
    first_name      TEXT,
    last_name       TEXT,
    email           TEXT,
    mobile          TEXT,
    consent_process BOOLEAN NOT NULL,
    consent_market  BOOLEAN NOT NULL,
    consent_source  TEXT,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    deidentified_at TIMESTAMP
);
CREATE INDEX customers_dealer_id ON customers (dealer_id, id);
CREATE INDEX customers_dealer_email ON customers (dealer_id, email) WHERE email IS NOT NULL;
CREATE INDEX customers_dealer_mobile ON customers (dealer_id, mobile) WHERE mobile IS NOT NULL;

CREATE TABLE leads (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    dealer_id       TEXT NOT NULL REFERENCES dealers (id),
    customer_id     BIGINT NOT NULL REFERENCES customers (id),
    status          TEXT NOT NULL CHECK (status IN ('active', 'won', 'lost')),
    recipient_name  TEXT NOT NULL,
    recipient_email TEXT NOT NULL,
    source          TEXT,
    vehicle         TEXT,
    message         TEXT,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX leads_customer ON leads (customer_id, id);
CREATE INDEX leads_dealer ON leads (dealer_id, id);

-- The change feed. `changes` is a JSON array of {field, was, now}; `lead_ids` a JSON array.
-- Events are never deleted: de-identification rewrites their values to "[de-identified]".
CREATE TABLE change_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    dealer_id   TEXT NOT NULL REFERENCES dealers (id),
    customer_id BIGINT REFERENCES customers (id),
    kind        TEXT NOT NULL,
    actor_role  TEXT NOT NULL,
    actor_sub   TEXT NOT NULL,
    channel     TEXT NOT NULL CHECK (channel IN ('pi', 'api')),
    changes     TEXT NOT NULL,
    lead_ids    TEXT,
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX change_events_dealer ON change_events (dealer_id, id);
CREATE INDEX change_events_customer ON change_events (customer_id, id) WHERE customer_id IS NOT NULL;
