-- Who followed a dealer's change feed (its history, or one customer's), one row per token
-- subject and role: a data subject may ask who has had access to their information (POPIA
-- s23(1)(b)). Upserted on each read, so a follower polling every few seconds adds no rows;
-- purged with the other access logs once `last_read_at` is older than the retention period.
CREATE TABLE feed_reads (
    dealer_id     TEXT NOT NULL REFERENCES dealers (id),
    sub           TEXT NOT NULL,
    role          TEXT NOT NULL,
    first_read_at TIMESTAMP NOT NULL,
    last_read_at  TIMESTAMP NOT NULL,
    reads         BIGINT NOT NULL,
    PRIMARY KEY (dealer_id, sub, role)
) WITHOUT ROWID;
CREATE INDEX feed_reads_time ON feed_reads (last_read_at);
