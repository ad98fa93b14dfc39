-- Every blacklist export and check: who pulled which list, since when, how many items, when.
-- The dealer shows this to prove which operator was given what.
CREATE TABLE blacklist_pulls (
    id        BIGSERIAL PRIMARY KEY,
    dealer_id TEXT NOT NULL REFERENCES dealers (id),
    sub       TEXT NOT NULL,
    role      TEXT NOT NULL,
    list      TEXT NOT NULL CHECK (list IN ('emails', 'mobiles', 'check')),
    format    TEXT NOT NULL CHECK (format IN ('json', 'csv')),
    since     DATE,
    items     BIGINT NOT NULL,
    at        TIMESTAMP NOT NULL
);
CREATE INDEX blacklist_pulls_dealer ON blacklist_pulls (dealer_id, id);
