-- PostgreSQL records each event's transaction so the feed can be read in commit order while
-- writers run in parallel. SQLite has one writer: ids commit in order and xact_id stays 0.
ALTER TABLE change_events ADD COLUMN xact_id BIGINT NOT NULL DEFAULT 0;
CREATE INDEX change_events_feed ON change_events (dealer_id, xact_id, id);
CREATE INDEX change_events_customer_feed ON change_events (customer_id, xact_id, id) WHERE customer_id IS NOT NULL;
DROP INDEX change_events_dealer;
DROP INDEX change_events_customer;
-- A withdrawal redacts the dealer's NOT FOUND lookups naming the person (events of no
-- customer): found through this index rather than by reading every event of the dealer.
CREATE INDEX change_events_unlinked ON change_events (dealer_id, kind) WHERE customer_id IS NULL;
