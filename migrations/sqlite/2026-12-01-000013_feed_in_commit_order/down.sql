DROP INDEX change_events_unlinked;
CREATE INDEX change_events_dealer ON change_events (dealer_id, id);
CREATE INDEX change_events_customer ON change_events (customer_id, id) WHERE customer_id IS NOT NULL;
DROP INDEX change_events_customer_feed;
DROP INDEX change_events_feed;
ALTER TABLE change_events DROP COLUMN xact_id;
