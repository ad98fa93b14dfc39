-- The old CHECK cannot hold 'reconcile': those events are kept, as the API's.
UPDATE change_events SET channel = 'api' WHERE channel = 'reconcile';
ALTER TABLE change_events DROP CONSTRAINT change_events_channel_check;
ALTER TABLE change_events ADD CONSTRAINT change_events_channel_check
    CHECK (channel IN ('pi', 'api'));
