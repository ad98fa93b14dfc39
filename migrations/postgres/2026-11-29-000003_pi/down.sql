DROP TABLE blacklist_mobiles;
DROP TABLE blacklist_emails;
DROP TABLE lookup_alerts;
DROP TABLE verifications;
