-- The order the index and the ranker memory are rebuilt in at start-up, read a page at a
-- time: without it each page sorts every filing again.
CREATE INDEX filings_created ON filings (created_at, id);
