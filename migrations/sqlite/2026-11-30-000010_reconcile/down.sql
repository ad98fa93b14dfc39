-- The old CHECK cannot hold 'reconcile': those events are kept, as the API's.
UPDATE change_events SET channel = 'api' WHERE channel = 'reconcile';
CREATE TABLE change_events_new (
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
INSERT INTO change_events_new (id, dealer_id, customer_id, kind, actor_role, actor_sub, channel,
                               changes, lead_ids, occurred_at)
    SELECT id, dealer_id, customer_id, kind, actor_role, actor_sub, channel, changes, lead_ids,
           occurred_at
    FROM change_events;
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'change_events_new', seq FROM sqlite_sequence WHERE name = 'change_events'
    AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'change_events_new');
UPDATE sqlite_sequence
    SET seq = MAX(seq, (SELECT seq FROM sqlite_sequence WHERE name = 'change_events'))
    WHERE name = 'change_events_new'
    AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'change_events');
DROP TABLE change_events;
ALTER TABLE change_events_new RENAME TO change_events;
CREATE INDEX change_events_dealer ON change_events (dealer_id, id);
CREATE INDEX change_events_customer ON change_events (customer_id, id) WHERE customer_id IS NOT NULL;
