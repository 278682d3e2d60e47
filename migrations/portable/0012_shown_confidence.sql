-- The confidence of the first suggestion a user was shown, kept with the choice they made, so
-- that the admin console can tell how well the confidence matches how often it is right. In
-- millionths: an integer binds alike on SQLite and PostgreSQL.
ALTER TABLE suggestions_shown ADD COLUMN top_confidence_ppm BIGINT;
ALTER TABLE feedback ADD COLUMN top_confidence_ppm BIGINT;
