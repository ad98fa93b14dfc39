-- A de-identification by `popia-api reconcile` (or serve's start-up pass) after a restore is
-- neither the person's /pi page nor staff: its events carry the channel 'reconcile'.
ALTER TABLE change_events DROP CONSTRAINT change_events_channel_check;
ALTER TABLE change_events ADD CONSTRAINT change_events_channel_check
    CHECK (channel IN ('pi', 'api', 'reconcile'));
