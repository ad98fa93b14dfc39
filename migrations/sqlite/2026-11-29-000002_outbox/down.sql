DROP TABLE outbox_contents;
DROP TABLE outbox_messages;
