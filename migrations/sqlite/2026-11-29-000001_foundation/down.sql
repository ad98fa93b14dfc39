DROP TABLE change_events;
DROP TABLE leads;
DROP TABLE customers;
DROP TABLE dealers;
