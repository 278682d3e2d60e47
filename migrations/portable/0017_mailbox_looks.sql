-- When each watched mailbox's watcher last looked through its folder, and its last failure:
-- the console's overview says whether a mailbox is being read at all, not only when a mail
-- last came.
CREATE TABLE mailbox_looks (
    mailbox    TEXT PRIMARY KEY,
    looked_at  BIGINT,
    failed_at  BIGINT,
    error      TEXT
);
