-- Follow-ups: each email that asks a dealer to act opens one, so an information officer can
-- show what was done and when. Nothing of the customer's personal information is kept here,
-- except a NOT FOUND lookup's identifier, and only as long as that email's content is kept.
CREATE TABLE follow_ups (
    id                BIGSERIAL PRIMARY KEY,
    dealer_id         TEXT NOT NULL REFERENCES dealers (id),
    kind              TEXT NOT NULL CHECK (kind IN ('lookup_not_found', 'consent_withdrawn', 'details_altered', 'deidentify_alert')),
    customer_id       BIGINT,
    -- JSON array of lead ids, for a de-identify alert.
    lead_ids          TEXT,
    -- JSON array of the names the email went to.
    assignees         TEXT NOT NULL,
    -- The email that opened it (no foreign key: the outbox is rebuilt by later migrations).
    message_id        BIGINT NOT NULL,
    identifier        TEXT,
    created_at        TIMESTAMP NOT NULL,
    due_at            TIMESTAMP NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('open', 'done')),
    done_at           TIMESTAMP,
    done_by           TEXT,
    note              TEXT,
    reminded_early_at TIMESTAMP,
    reminded_due_at   TIMESTAMP
);
CREATE INDEX follow_ups_dealer ON follow_ups (dealer_id, id);
CREATE INDEX follow_ups_open_due ON follow_ups (due_at) WHERE status = 'open';
CREATE INDEX follow_ups_customer ON follow_ups (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX follow_ups_identifier ON follow_ups (message_id) WHERE identifier IS NOT NULL;
