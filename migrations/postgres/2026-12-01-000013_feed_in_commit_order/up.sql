-- Withdrawals of one dealer now commit in parallel, so event ids no longer commit in id order.
-- Each event records the transaction that wrote it; readers see only events of transactions
-- older than every transaction still running, in (xact_id, id) order, which cannot change
-- behind a follower's cursor. Existing events (all committed) get 0 and keep their id order.
ALTER TABLE change_events ADD COLUMN xact_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE change_events ALTER COLUMN xact_id SET DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX change_events_feed ON change_events (dealer_id, xact_id, id);
CREATE INDEX change_events_customer_feed ON change_events (customer_id, xact_id, id) WHERE customer_id IS NOT NULL;
DROP INDEX change_events_dealer;
DROP INDEX change_events_customer;
-- A withdrawal redacts the dealer's NOT FOUND lookups naming the person (events of no
-- customer): found through this index rather than by reading every event of the dealer.
CREATE INDEX change_events_unlinked ON change_events (dealer_id, kind) WHERE customer_id IS NULL;
