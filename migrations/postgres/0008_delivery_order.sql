-- Delivery keeps the order of filings per case: a filing is claimed only when no earlier filing
-- of its case is still queued. This index answers "is there an earlier one?" directly.
CREATE INDEX filings_case_queue ON filings (case_id, state, created_at);

-- The audit log is append-only in the database too, not only by the service's habit: no
-- statement, from the service or from an operator's SQL prompt, may change or remove a record.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
-- TRUNCATE bypasses row triggers.
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
