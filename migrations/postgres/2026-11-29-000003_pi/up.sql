-- One-time-code verifications of the /pi page. The code is kept only as a keyed hash; the
-- identifier is kept (the code is sent to it and the subject token names it) until the row is
-- purged after expiry or the person withdraws. `identifier_key` and `client_key` are keyed
-- hashes (HMAC with a server secret) used to count sends across replicas.
CREATE TABLE verifications (
    id             TEXT PRIMARY KEY,
    dealer_id      TEXT NOT NULL REFERENCES dealers (id),
    channel        TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    identifier     TEXT NOT NULL,
    identifier_key TEXT NOT NULL,
    client_key     TEXT NOT NULL,
    code_hash      TEXT NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    created_at     TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP NOT NULL,
    used_at        TIMESTAMP
);
CREATE INDEX verifications_identifier ON verifications (dealer_id, identifier_key, created_at);
CREATE INDEX verifications_client ON verifications (client_key, created_at);
CREATE INDEX verifications_expiry ON verifications (expires_at);

-- "At most one NOT FOUND email per identifier per dealer per day".
CREATE TABLE lookup_alerts (
    dealer_id      TEXT NOT NULL REFERENCES dealers (id),
    identifier_key TEXT NOT NULL,
    day            DATE NOT NULL,
    PRIMARY KEY (dealer_id, identifier_key, day)
);

-- The consent blacklists: one table per kind of identifier, no surrogate id, no customer id,
-- nothing finer than the day, so an email row and a mobile row share nothing but the dealer
-- and the day. `removed_on` marks an entry that left through fresh consent; `changed_on` is
-- the day of the latest change, which the `?since=` change feed pages by.
CREATE TABLE blacklist_emails (
    dealer_id  TEXT NOT NULL REFERENCES dealers (id),
    value      TEXT NOT NULL,
    added_on   DATE NOT NULL,
    removed_on DATE,
    changed_on DATE NOT NULL,
    PRIMARY KEY (dealer_id, value)
);
CREATE INDEX blacklist_emails_added ON blacklist_emails (dealer_id, added_on, value) WHERE removed_on IS NULL;
CREATE INDEX blacklist_emails_changed ON blacklist_emails (dealer_id, changed_on, value);

CREATE TABLE blacklist_mobiles (
    dealer_id  TEXT NOT NULL REFERENCES dealers (id),
    value      TEXT NOT NULL,
    added_on   DATE NOT NULL,
    removed_on DATE,
    changed_on DATE NOT NULL,
    PRIMARY KEY (dealer_id, value)
);
CREATE INDEX blacklist_mobiles_added ON blacklist_mobiles (dealer_id, added_on, value) WHERE removed_on IS NULL;
CREATE INDEX blacklist_mobiles_changed ON blacklist_mobiles (dealer_id, changed_on, value);
