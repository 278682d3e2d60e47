-- "Journalisér ved afsendelse": the case a user chose while writing a mail, under an opaque
-- reference that the mail carries in its X-Journaliser-Ref header. When the sent copy is
-- uploaded by the same user, it is filed on that case and the intent is fulfilled. The
-- reference is random and says nothing about the case: the header travels to the recipients.
CREATE TABLE send_intents (
    reference     TEXT PRIMARY KEY,
    owner         TEXT NOT NULL,
    case_id       TEXT NOT NULL REFERENCES cases (id),
    title         TEXT,
    state         TEXT NOT NULL CHECK (state IN ('open', 'fulfilled')),
    filing_id     TEXT REFERENCES filings (id),
    created_at    BIGINT NOT NULL,
    fulfilled_at  BIGINT
);
CREATE INDEX send_intents_owner ON send_intents (owner, created_at);

-- A filing may be a new version of a document filed earlier on the same case: `version_of` is
-- that document's id at the target, `version` its number (1 for a document of its own).
ALTER TABLE filings ADD COLUMN version_of TEXT;
ALTER TABLE filings ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
CREATE INDEX filings_case_document ON filings (case_id, target_document_id);
CREATE INDEX filings_case_version_of ON filings (case_id, version_of);
