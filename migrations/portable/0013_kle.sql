-- The organisation's KLE plan: subjects (KLE-Emneplan) and action facets
-- (KLE-Handlingsfacetter), each with the publication date of the plan last imported.
CREATE TABLE kle_plans (
    kind        TEXT PRIMARY KEY,
    published   TEXT NOT NULL,
    imported_at BIGINT NOT NULL
);

-- Every main group, group, subject, facet category and facet ever imported. An entry a newer
-- plan removes, moves or no longer lists is kept, `history` saying why (JSON), so that cases
-- with its number still find its title.
CREATE TABLE kle_entries (
    number      TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    level       TEXT NOT NULL,
    parent      TEXT,
    title       TEXT NOT NULL,
    guidance    TEXT NOT NULL,
    created     TEXT,
    changed     TEXT,
    history     TEXT,
    search_text TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX kle_entries_kind ON kle_entries (kind, number);

-- Cases created from here, each an outbox row like a filing: committed with the case itself
-- (in `cases` at once, under `id`) before the requester hears "accepted", then made in the
-- target by the worker, which asks under `id` so that a repeat after a crash finds the first.
-- `create_key` is the requester's key, prefixed by the user, so a repeat gives the same case.
CREATE TABLE case_creations (
    id              TEXT PRIMARY KEY,
    create_key      TEXT NOT NULL UNIQUE,
    connector       TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    lease_until     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX case_creations_due ON case_creations (state, next_attempt_at);
