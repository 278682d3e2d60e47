-- A caseworker who files a mail may ask that later mails of its conversation in their own
-- mailbox be filed on the same case without a click, until they stop it or the case closes.
CREATE TABLE thread_follows (
    id               TEXT PRIMARY KEY,
    filing_id        TEXT NOT NULL,
    case_id          TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    user_name        TEXT NOT NULL,
    -- The user's groups when they asked (JSON array): whose cases the follow may file on.
    user_groups      TEXT NOT NULL,
    -- The filed mail's Message-ID, to find its conversation in the user's mailbox by.
    message_id       TEXT NOT NULL,
    -- Graph's conversationId, once found.
    conversation_id  TEXT,
    since            BIGINT NOT NULL,
    ended_at         BIGINT,
    ended_why        TEXT
);

CREATE UNIQUE INDEX thread_follows_one_active ON thread_follows (user_id, filing_id)
    WHERE ended_at IS NULL;
