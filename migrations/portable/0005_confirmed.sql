-- Whether the target confirmed a filed document (1) or only took it in without confirming it
-- (0, e.g. a webhook that answered "accepted" without an id).
ALTER TABLE filings ADD COLUMN confirmed BIGINT NOT NULL DEFAULT 1;
