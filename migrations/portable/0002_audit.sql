-- The audit log: who filed what where, what became of it, and what admins changed. The service
-- only ever inserts here. No foreign keys: a record outlives the item, filing or case it names.
-- `item_hash` is the item's SHA-256, never its content; `details` is JSON without item text.
-- `kind` has no CHECK list, so that new kinds need no table rebuild on SQLite.
CREATE TABLE audit_events (
    id         TEXT PRIMARY KEY,
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    item_hash  TEXT,
    case_id    TEXT,
    filing_id  TEXT,
    details    TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_kind ON audit_events (kind);
CREATE INDEX audit_events_actor ON audit_events (actor);
