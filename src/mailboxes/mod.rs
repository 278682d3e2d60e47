//! Where mail comes from besides the panes: functional mailboxes (byg@, borgerservice@ …) that
//! the service watches itself. Every new mail is taken in through the same intake as an upload,
//! decided on by the auto-journalisation policy, then marked and moved in its mailbox.

mod graph;
mod imap;
mod threads;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::auth::User;
use crate::autofile::{
    AutofileError, MAILBOX_OWNER_PREFIX, MailboxPolicy, Origin, Outcome, Policy,
};
use crate::config::{MailboxConfig, MailboxProtocol};
use crate::connector::ConnectorError;
use crate::extract::Format;
use crate::filing::FilingError;
use crate::intake::{Intake, IntakeError};
use crate::store::{MailKey, Store};

pub use graph::GraphWatcher;
pub use imap::ImapWatcher;
pub use threads::ThreadFollower;

/// The keyword on a mail filed automatically.
pub const FILED_KEYWORD: &str = "$Journaliseret";
/// The keyword on a mail waiting in a review queue.
pub const REVIEW_KEYWORD: &str = "$Til-gennemsyn";
/// The category (Outlook's coloured label) on a mail filed automatically, over Graph.
pub const FILED_CATEGORY: &str = "Journaliseret";
/// The category on a mail waiting in a review queue, over Graph.
pub const REVIEW_CATEGORY: &str = "Til gennemsyn";

/// The policy each configured mailbox is decided under.
pub fn policies(mailboxes: &[MailboxConfig]) -> Vec<MailboxPolicy> {
    mailboxes
        .iter()
        .map(|m| MailboxPolicy {
            name: m.name.clone(),
            groups: m.groups.clone(),
            queue: m.queue().to_string(),
            overrides: m.autofile.clone(),
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

impl Intakes {
    /// One mail in: stored as an item of the mailbox, its position recorded, decided on.
    /// Taking the same mail again (after a crash) finds the same item and the same filing.
    async fn take(
        &self,
        mailbox: &MailboxPolicy,
        key: &MailKey,
        mail: Vec<u8>,
    ) -> Result<String, ConnectorError> {
        let stored = |e: crate::store::StoreError| ConnectorError::Transient(e.to_string());
        let name = &mailbox.name;
        let mailbox_owner = owner(mailbox);
        let received = self
            .intake
            .receive(
                &self.store,
                &mailbox_owner.id,
                mail.clone().into(),
                Format::Mail,
            )
            .await;
        let item = match received {
            Ok((item, _)) => item,
            Err(IntakeError::Extract(error)) => {
                // A mail that cannot be read stays in the folder for a person, and is not
                // tried again and again.
                tracing::warn!(%key, %error, "a mail in the watched mailbox could not be read");
                let id = format!("unreadable:{key}");
                self.store
                    .take_mailbox_position(name, key, &id)
                    .await
                    .map_err(stored)?;
                self.store
                    .decide_mailbox_position(name, key, "unreadable")
                    .await
                    .map_err(stored)?;
                return Ok("unreadable".into());
            }
            Err(other) => return Err(ConnectorError::Transient(other.to_string())),
        };
        self.store
            .take_mailbox_position(name, key, &item.id)
            .await
            .map_err(stored)?;
        let decided = self
            .policy
            .process(&mailbox_owner, &item, &mail, Origin::Mailbox(mailbox))
            .await;
        let outcome = match decided {
            Ok(Outcome::Filed(_)) => "filed",
            Ok(Outcome::Queued { .. }) => "queued",
            Ok(Outcome::Left { .. }) => "left",
            // A filing the policy chose but could not make (its case went away meanwhile)
            // leaves the mail in the folder for a person, rather than holding up the mailbox.
            Err(AutofileError::Filing(error)) if !matches!(error, FilingError::Store(_)) => {
                tracing::warn!(%key, %error, "the mail could not be filed; left in the mailbox");
                "left"
            }
            Err(other) => return Err(ConnectorError::Transient(other.to_string())),
        };
        self.store
            .decide_mailbox_position(name, key, outcome)
            .await
            .map_err(stored)?;
        tracing::info!(%key, item = %item.id, outcome, "mail taken from the watched mailbox");
        Ok(outcome.to_string())
    }
}

/// Runs `watch` again and again until `stop`; after a failure, recorded as the mailbox's
/// last, waits a pause that doubles from a second up to `poll`.
async fn keep_watching<Watch>(
    poll: Duration,
    stop: &CancellationToken,
    looks: Option<&Looks<'_>>,
    mut watch: impl FnMut() -> Watch,
) where
    Watch: Future<Output = Result<(), ConnectorError>>,
{
    let mut pause = Duration::from_secs(1);
    while !stop.is_cancelled() {
        match watch().await {
            Ok(()) => pause = Duration::from_secs(1),
            Err(error) => {
                tracing::warn!(%error, retry_in_s = pause.as_secs(), "mailbox watch failed");
                if let Some(looks) = looks {
                    looks.failed(&error).await;
                }
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(poll.max(Duration::from_secs(1)));
            }
        }
    }
    tracing::info!("mailbox watcher stopped");
}

/// Where a watcher records that it looked through its mailbox, or failed to: what the
/// console's overview shows of it. A record that cannot be written is only logged.
struct Looks<'a> {
    store: &'a Store,
    mailbox: &'a str,
}

impl Looks<'_> {
    async fn looked(&self) {
        self.record(None).await;
    }

    async fn failed(&self, error: &ConnectorError) {
        self.record(Some(&error.to_string())).await;
    }

    async fn record(&self, error: Option<&str>) {
        if let Err(e) = self.store.record_mailbox_look(self.mailbox, error).await {
            tracing::warn!(error = %e, "cannot record the mailbox's last look");
        }
    }
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
        let handle = match (config.protocol, &config.entra) {
            (MailboxProtocol::Graph, Some(entra)) => {
                let watcher = GraphWatcher::new(config, entra, policy, intakes.clone())?;
                tokio::spawn(Arc::new(watcher).run(stop.clone()))
            }
            _ => {
                let watcher = ImapWatcher::new(config, policy, intakes.clone())?;
                tokio::spawn(Arc::new(watcher).run(stop.clone()))
            }
        };
        handles.push(handle);
    }
    Ok(handles)
}
