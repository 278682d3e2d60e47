-- Watched mailboxes over Microsoft Graph name a mail by its immutable id, not by IMAP's
-- UIDVALIDITY and UID: each mail's position becomes a text key (`<uidvalidity>:<uid>` for
-- IMAP, the Graph id for Graph), and a Graph mailbox keeps where its delta query stands.
CREATE TABLE mailbox_mails (
    mailbox     TEXT NOT NULL,
    mail_key    TEXT NOT NULL,
    item_id     TEXT NOT NULL,
    outcome     TEXT,
    taken_at    BIGINT NOT NULL,
    decided_at  BIGINT,
    PRIMARY KEY (mailbox, mail_key)
);

INSERT INTO mailbox_mails (mailbox, mail_key, item_id, outcome, taken_at, decided_at)
SELECT mailbox, CAST(uid_validity AS TEXT) || ':' || CAST(uid AS TEXT), item_id, outcome,
       taken_at, decided_at
FROM mailbox_positions;

DROP TABLE mailbox_positions;

CREATE TABLE mailbox_cursors (
    mailbox     TEXT PRIMARY KEY,
    resume_from TEXT NOT NULL,
    saved_at    BIGINT NOT NULL
);
