ALTER TABLE idempotency_keys DROP COLUMN refs;
DROP TABLE spent_subjects;
DROP INDEX verifications_customer;
ALTER TABLE verifications DROP COLUMN requested_by;
ALTER TABLE verifications DROP COLUMN customer_id;
ALTER TABLE verifications DROP COLUMN purpose;
