//! Clients for mail servers that more than one room uses: a connection in plain text or TLS
//! (`stream.rs`) and IMAP (`imap.rs`), read by the mail-in connector's read-back and by the
//! watcher of functional mailboxes.

pub mod imap;
pub mod stream;
