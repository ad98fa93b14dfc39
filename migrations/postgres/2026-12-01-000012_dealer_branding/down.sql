DROP TABLE dealer_logos;
ALTER TABLE dealers DROP COLUMN primary_colour;
ALTER TABLE dealers DROP COLUMN logo_url;
ALTER TABLE dealers DROP COLUMN display_name;
