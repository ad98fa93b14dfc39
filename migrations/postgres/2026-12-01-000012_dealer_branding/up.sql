-- Per-dealer branding for the hosted /pi page: a display name, a button colour and a logo.
-- The logo is fetched once when set (never hot-linked: the page must not call third parties
-- with a data subject's address) and kept here; `logo_url` on dealers is where it came from.
ALTER TABLE dealers ADD COLUMN display_name TEXT;
ALTER TABLE dealers ADD COLUMN logo_url TEXT;
ALTER TABLE dealers ADD COLUMN primary_colour TEXT;

CREATE TABLE dealer_logos (
    dealer_id    TEXT PRIMARY KEY REFERENCES dealers (id),
    content_type TEXT NOT NULL,
    bytes        BYTEA NOT NULL,
    source_url   TEXT NOT NULL,
    fetched_at   TIMESTAMP NOT NULL
);
