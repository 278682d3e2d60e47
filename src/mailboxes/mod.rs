//! Where mail comes from besides the panes: functional mailboxes (byg@, borgerservice@ …) that
//! the service watches itself. Every new mail is taken in through the same intake as an upload,
//! decided on by the auto-journalisation policy, then marked and moved in its mailbox.

mod imap;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::auth::User;
use crate::autofile::{MAILBOX_OWNER_PREFIX, MailboxPolicy, Policy};
use crate::config::{AutofileConfig, MailboxConfig};
use crate::intake::Intake;
use crate::store::Store;

pub use imap::ImapWatcher;

/// The keyword on a mail filed automatically.
pub const FILED_KEYWORD: &str = "$Journaliseret";
/// The keyword on a mail waiting in a review queue.
pub const REVIEW_KEYWORD: &str = "$Til-gennemsyn";

/// The policy each configured mailbox is decided under.
pub fn policies(mailboxes: &[MailboxConfig], autofile: &AutofileConfig) -> Vec<MailboxPolicy> {
    mailboxes
        .iter()
        .map(|m| MailboxPolicy {
            name: m.name.clone(),
            groups: m.groups.clone(),
            queue: m.queue().to_string(),
            settings: autofile.with(&m.autofile),
        })
        .collect()
}

/// The identity a mailbox's items belong to and its filings are made by: no person signs in
/// as it, and it sees the cases of its groups.
pub fn owner(mailbox: &MailboxPolicy) -> User {
    User {
        id: format!("{MAILBOX_OWNER_PREFIX}{}", mailbox.name),
        name: mailbox.name.clone(),
        groups: mailbox.groups.clone(),
        admin: false,
    }
}

/// What the watchers share.
#[derive(Clone)]
pub struct Intakes {
    pub store: Store,
    pub intake: Intake,
    pub policy: Policy,
}

/// Starts a watcher for every configured mailbox; each stops when `stop` is cancelled.
pub fn spawn_all(
    mailboxes: &[MailboxConfig],
    intakes: Intakes,
    stop: CancellationToken,
) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let mut handles = Vec::new();
    for config in mailboxes {
        let policy = intakes
            .policy
            .mailbox(&config.name)
            .cloned()
            .ok_or_else(|| format!("mailbox {:?} has no policy", config.name))?;
        let watcher = Arc::new(ImapWatcher::new(config, policy, intakes.clone())?);
        handles.push(tokio::spawn(watcher.run(stop.clone())));
    }
    Ok(handles)
}
