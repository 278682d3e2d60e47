-- Settings admins apply from the console over the configuration: today the confidence
-- thresholds of auto-journalisation, for the organisation, one watched mailbox or one group.
-- Every change is a new version, numbered across all of them; the newest version of a
-- setting for its scope is what holds there. Each side says whether the value was the
-- configuration's (`*_configured` = 1: no change applied held the scope) and the threshold in
-- force, in millionths (NULL: off). `undoes` names the version an undo restored the value
-- before.
CREATE TABLE setting_changes (
    version            BIGINT PRIMARY KEY,
    setting            TEXT NOT NULL,
    scope              TEXT NOT NULL CHECK (scope IN ('organisation', 'mailbox', 'group')),
    -- The mailbox's or the group's name; empty for the organisation.
    target             TEXT NOT NULL,
    before_configured  BIGINT NOT NULL,
    before_ppm         BIGINT,
    after_configured   BIGINT NOT NULL,
    after_ppm          BIGINT,
    undoes             BIGINT REFERENCES setting_changes (version),
    changed_by         TEXT NOT NULL,
    changed_at         BIGINT NOT NULL
);
CREATE INDEX setting_changes_scope ON setting_changes (setting, scope, target, version);
