-- Two live filings may not be the same version of one document: the WebDAV target names a
-- version's file by its number, so a second filing with that number would meet the first
-- one's file. A failed filing keeps its number out of the way until it is put back in the
-- queue, which this index then refuses if the number has been given out again.
CREATE UNIQUE INDEX filings_live_version ON filings (case_id, version_of, version)
    WHERE version_of IS NOT NULL AND state <> 'failed';
