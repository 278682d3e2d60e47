-- The organisation's learned ranker: the weights that combine a case's features, their
-- learning state and the calibration of the confidence, as JSON. One row per organisation
-- (`scope`); learning rewrites it after every filing, and an admin may override and pin it.
-- `updates` counts the filings learnt from, so that a slower writer of an older state never
-- overwrites a newer one.
CREATE TABLE ranker (
    scope       TEXT PRIMARY KEY,
    state       TEXT NOT NULL,
    updates     BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    updated_by  TEXT NOT NULL
);
-- The ranker looks for open cases with nothing filed on them yet.
CREATE INDEX filings_case ON filings (case_id);
