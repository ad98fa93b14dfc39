DROP TABLE webhook_deliveries;
DELETE FROM outbox_messages WHERE channel = 'webhook';
DROP INDEX outbox_webhook;
ALTER TABLE outbox_messages DROP COLUMN webhook_id;
ALTER TABLE outbox_messages DROP CONSTRAINT outbox_messages_channel_check;
ALTER TABLE outbox_messages ADD CONSTRAINT outbox_messages_channel_check
    CHECK (channel IN ('email', 'sms'));
DROP TABLE webhooks;
