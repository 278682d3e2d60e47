-- Auto-journalisation: what decided a filing, its undo, the admins' routing rules, and the
-- review queue of items the service was not sure enough to file on its own.

-- `decision` is NULL for a person's choice, else JSON naming the evidence that filed it
-- ({"evidence": "thread", "rule"?, "confidence"?, …}).
ALTER TABLE filings ADD COLUMN decision TEXT;
-- An undo: who, when and why; `withdrawal` is how far taking the document back from the
-- target has come ('pending', 'done', 'corrected', 'not_possible'), with the target's note.
ALTER TABLE filings ADD COLUMN withdrawn_at BIGINT;
ALTER TABLE filings ADD COLUMN withdrawn_by TEXT;
ALTER TABLE filings ADD COLUMN withdraw_reason TEXT;
ALTER TABLE filings ADD COLUMN withdrawal TEXT;
ALTER TABLE filings ADD COLUMN withdrawal_note TEXT;
ALTER TABLE filings ADD COLUMN withdrawal_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE filings ADD COLUMN withdrawal_next_at BIGINT;
-- The filing that replaced this one when it was moved to another case.
ALTER TABLE filings ADD COLUMN moved_to TEXT;

-- A withdrawn filing no longer holds its dedupe key: the item may be filed on the case again.
DROP INDEX filings_live_dedupe;
CREATE UNIQUE INDEX filings_live_dedupe ON filings (dedupe_key)
    WHERE state <> 'failed' AND withdrawn_at IS NULL;
CREATE INDEX filings_withdrawal ON filings (withdrawal, withdrawal_next_at);

-- Routing rules. Every change is a new version; the newest version of a rule is the rule
-- (`deleted` = 1 when that newest version removed it).
CREATE TABLE rule_versions (
    id          TEXT NOT NULL,
    version     BIGINT NOT NULL,
    spec        TEXT NOT NULL,
    deleted     BIGINT NOT NULL DEFAULT 0,
    changed_by  TEXT NOT NULL,
    changed_at  BIGINT NOT NULL,
    PRIMARY KEY (id, version)
);

-- Items waiting for a person: why they were not filed, with what evidence, in which queue.
CREATE TABLE review_items (
    item_id      TEXT PRIMARY KEY REFERENCES items (id),
    queue        TEXT NOT NULL,
    mailbox      TEXT,
    why          TEXT NOT NULL,
    details      TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('waiting', 'claimed', 'filed', 'dismissed')),
    claimed_by   TEXT,
    claimed_at   BIGINT,
    resolved_by  TEXT,
    resolved_at  BIGINT,
    resolution   TEXT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX review_items_queue ON review_items (queue, state, created_at);

-- Outlook's conversation of a mail: the first 22 bytes of its Thread-Index (hex), the same in
-- every reply and forward of the thread, for thread evidence where In-Reply-To is missing.
ALTER TABLE items ADD COLUMN conversation TEXT;
CREATE INDEX items_conversation ON items (conversation);

-- Where each watched mailbox stands: a mail (by the folder's UIDVALIDITY and its UID) is taken
-- once, as the item it became, then decided; a restart goes on from here, so no mail is lost
-- or handled twice.
CREATE TABLE mailbox_positions (
    mailbox       TEXT NOT NULL,
    uid_validity  BIGINT NOT NULL,
    uid           BIGINT NOT NULL,
    item_id       TEXT NOT NULL,
    outcome       TEXT,
    taken_at      BIGINT NOT NULL,
    decided_at    BIGINT,
    PRIMARY KEY (mailbox, uid_validity, uid)
);
