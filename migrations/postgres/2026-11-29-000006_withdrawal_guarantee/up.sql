-- A verification either proves an identifier to sign a subject in (`subject`), or proves a new
-- email or mobile that a signed-in subject wants on one of their records (`identifier_change`:
-- `customer_id` is the record, `requested_by` the subject token's `sub`).
ALTER TABLE verifications ADD COLUMN purpose TEXT NOT NULL DEFAULT 'subject'
    CHECK (purpose IN ('subject', 'identifier_change'));
ALTER TABLE verifications ADD COLUMN customer_id BIGINT;
ALTER TABLE verifications ADD COLUMN requested_by TEXT;
CREATE INDEX verifications_customer ON verifications (customer_id) WHERE customer_id IS NOT NULL;

-- Subject tokens spent by a withdrawal: a keyed hash of the token's `sub` (its verification),
-- kept until the token would have expired anyway.
CREATE TABLE spent_subjects (
    sub_key    TEXT PRIMARY KEY,
    expires_at TIMESTAMP NOT NULL
);

-- What a stored idempotent response is about, as space-delimited tokens (` customer:5 `,
-- ` verification:ab12 `), so that a withdrawal deletes exactly the responses about the person
-- by id rather than by searching their text.
ALTER TABLE idempotency_keys ADD COLUMN refs TEXT;
