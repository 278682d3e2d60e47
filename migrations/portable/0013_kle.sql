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
