-- What the ranker scored each suggestion shown by, kept with the choice made, so that the
-- console can replay other weights on real choices: a JSON list in the order shown, one object
-- of feature name to value per case (zeros left out). Only the cases shown, never the item's
-- text. NULL for suggestions shown before these were kept.
ALTER TABLE suggestions_shown ADD COLUMN features TEXT;
ALTER TABLE feedback ADD COLUMN shown_features TEXT;
-- The ranker's state before an admin's last change, so that the change can be undone exactly.
ALTER TABLE ranker ADD COLUMN previous_state TEXT;
