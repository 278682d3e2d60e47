-- The confidence of the first suggestion a user was shown, kept with the choice they made, so
-- that the admin console can tell how well the confidence matches how often it is right.
ALTER TABLE suggestions_shown ADD COLUMN top_confidence DOUBLE PRECISION;
ALTER TABLE feedback ADD COLUMN top_confidence DOUBLE PRECISION;
