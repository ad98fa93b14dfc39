DROP TABLE feed_reads;
