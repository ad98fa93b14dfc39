DROP INDEX outbox_dealer_channel;
DROP TABLE withdrawn_read_counts;
DROP TABLE customer_reads;
DROP TABLE failed_codes;
