-- Cases known to the service, from imports and connectors' case lists.
CREATE TABLE cases (
    id          TEXT PRIMARY KEY,
    connector   TEXT NOT NULL,
    number      TEXT NOT NULL,
    title       TEXT NOT NULL,
    kle         TEXT,
    facet       TEXT,
    status      TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    opened      TEXT,
    -- Lower-cased number, title and party names, e-mail addresses and CVR numbers, made in
    -- Rust, as on SQLite: what people's case searches match.
    search_text TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX cases_number ON cases (number);

-- For CPR parties `value` is the keyed hash and `display` the masked form; never the number.
CREATE TABLE case_parties (
    case_id  TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    kind     TEXT NOT NULL CHECK (kind IN ('cpr', 'cvr', 'email', 'name')),
    value    TEXT NOT NULL,
    display  TEXT NOT NULL,
    PRIMARY KEY (case_id, kind, value)
);
CREATE INDEX case_parties_value ON case_parties (kind, value);

-- An empty group list means everyone may see the case.
CREATE TABLE case_groups (
    case_id     TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    group_name  TEXT NOT NULL,
    PRIMARY KEY (case_id, group_name)
);

-- Uploaded mails and documents with what extraction found (JSON, CPR masked).
CREATE TABLE items (
    id            TEXT PRIMARY KEY,
    owner         TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('mail', 'document')),
    content_type  TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    message_id    TEXT,
    size          BIGINT NOT NULL,
    extracted     TEXT NOT NULL,
    original      BYTEA NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX items_owner_content ON items (owner, sha256);
CREATE INDEX items_message_id ON items (message_id);

-- The outbox: a row is committed before the user hears "accepted", and the worker delivers it.
-- `dedupe_key` (case + Message-ID or content hash) makes filing the same thing twice a no-op,
-- except after a filing failed for good: then it may be filed again.
CREATE TABLE filings (
    id                  TEXT PRIMARY KEY,
    item_id             TEXT NOT NULL REFERENCES items (id),
    case_id             TEXT NOT NULL REFERENCES cases (id),
    dedupe_key          TEXT NOT NULL,
    title               TEXT NOT NULL,
    attachments         TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('queued', 'filed', 'failed')),
    attempts            BIGINT NOT NULL DEFAULT 0,
    next_attempt_at     BIGINT,
    lease_until         BIGINT,
    last_error          TEXT,
    target_document_id  TEXT,
    created_by          TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    filed_at            BIGINT
);
CREATE UNIQUE INDEX filings_live_dedupe ON filings (dedupe_key) WHERE state <> 'failed';
CREATE INDEX filings_due ON filings (state, next_attempt_at);
CREATE INDEX filings_item ON filings (item_id);

-- The suggestions last shown to a user for an item, so that a filing can record them.
CREATE TABLE suggestions_shown (
    item_id     TEXT NOT NULL REFERENCES items (id),
    user_id     TEXT NOT NULL,
    case_ids    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (item_id, user_id)
);

-- What people chose against what they were shown: the ranker learns from this.
CREATE TABLE feedback (
    filing_id       TEXT PRIMARY KEY REFERENCES filings (id),
    item_id         TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    chosen_case_id  TEXT NOT NULL,
    chosen_rank     BIGINT,
    shown_case_ids  TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
