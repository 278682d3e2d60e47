-- Delivery keeps the order of filings per case: a filing is claimed only when no earlier filing
-- of its case is still queued. This index answers "is there an earlier one?" directly.
CREATE INDEX filings_case_queue ON filings (case_id, state, created_at);

-- The audit log is append-only in the database too, not only by the service's habit: no
-- statement, from the service or from an operator's SQL prompt, may change or remove a record.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
