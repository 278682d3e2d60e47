-- When an item's original bytes were dropped under the retention rules. Its extracted text
-- (CPR masked) stays: the search index is rebuilt from it.
ALTER TABLE items ADD COLUMN original_purged_at BIGINT;
