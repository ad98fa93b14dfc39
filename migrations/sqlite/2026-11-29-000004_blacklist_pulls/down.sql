DROP TABLE blacklist_pulls;
