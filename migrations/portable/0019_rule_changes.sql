-- Rules an admin switched on from the console's backtest, and their undos: one version each,
-- numbered with the thresholds' `setting_changes` so that the console keeps one list of the
-- changes applied. Each side names the rule's version in `rule_versions` (NULL before: the
-- change made the rule); a side whose version is deleted had no rule in force. `undoes` names
-- the version whose side before an undo restored.
CREATE TABLE rule_changes (
    version         BIGINT PRIMARY KEY,
    rule_id         TEXT NOT NULL,
    before_version  BIGINT,
    after_version   BIGINT NOT NULL,
    undoes          BIGINT REFERENCES rule_changes (version),
    changed_by      TEXT NOT NULL,
    changed_at      BIGINT NOT NULL
);
