-- Lookups on hot paths and audit filters that would otherwise scan whole tables.
CREATE INDEX filings_by_user ON filings (created_by, created_at);
CREATE INDEX audit_events_case ON audit_events (case_id);
CREATE INDEX audit_events_filing ON audit_events (filing_id);
