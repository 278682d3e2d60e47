//! One functional mailbox watched over IMAP: IDLE where the server offers it, a look every
//! `poll_secs` otherwise. Each mail is taken once, by its folder's UIDVALIDITY and its UID,
//! recorded in the store before and after it is decided, so that a crash at any moment neither
//! loses a mail nor files it twice (taking it again finds the same item and the same filing).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{FILED_KEYWORD, Intakes, Looks, REVIEW_KEYWORD, keep_watching};
use crate::autofile::MailboxPolicy;
use crate::config::MailboxConfig;
use crate::connector::ConnectorError;
use crate::graph::{AppCredentials, EXCHANGE_SCOPE};
use crate::mail::imap::{ImapSettings, Login, Session};
use crate::mail::stream::{Endpoint, tls_config};
use crate::store::MailKey;

/// Mails taken in one look, so that a large backlog does not keep the watcher from IDLE (and
/// from noticing a shutdown) for long.
const BATCH: usize = 50;

pub struct ImapWatcher {
    name: String,
    folder: String,
    processed: String,
    poll: Duration,
    settings: ImapSettings,
    policy: MailboxPolicy,
    intakes: Intakes,
}

impl ImapWatcher {
    pub fn new(
        config: &MailboxConfig,
        policy: MailboxPolicy,
        intakes: Intakes,
    ) -> Result<ImapWatcher, String> {
        let login = match (&config.entra, config.oauth2_token.is_empty()) {
            (Some(entra), _) => Login::App {
                username: config.username.clone(),
                token: std::sync::Arc::new(AppCredentials::of(entra)?.token_for(EXCHANGE_SCOPE)?),
                http: crate::connector::http::client(entra.timeout_secs)?,
            },
            (None, true) => Login::Password {
                username: config.username.clone(),
                password: config.password.clone(),
            },
            (None, false) => Login::Bearer {
                username: config.username.clone(),
                token: config.oauth2_token.clone(),
            },
        };
        let settings = ImapSettings {
            endpoint: Endpoint {
                protocol: "imap",
                host: config.host.clone(),
                port: config.port,
                tls: config.tls,
                timeout: Duration::from_secs(config.timeout_secs.max(1)),
                tls_config: tls_config(&config.ca_file)?,
            },
            login,
            mailboxes: vec![config.folder.clone()],
        };
        Ok(ImapWatcher {
            name: config.name.clone(),
            folder: config.folder.clone(),
            processed: config.processed_folder.clone(),
            poll: Duration::from_secs(config.poll_secs.max(1)),
            settings,
            policy,
            intakes,
        })
    }

    /// Watches until `stop`; a failed connection is tried again after a pause.
    #[tracing::instrument(name = "mailbox", skip_all, fields(mailbox = %self.name))]
    pub async fn run(self: std::sync::Arc<Self>, stop: CancellationToken) {
        let looks = Looks {
            store: &self.intakes.store,
            mailbox: &self.name,
        };
        keep_watching(self.poll, &stop, Some(&looks), || self.watch(&stop, &looks)).await;
    }

    /// One connection: work through the folder, then wait for more, until `stop`.
    async fn watch(
        &self,
        stop: &CancellationToken,
        looks: &Looks<'_>,
    ) -> Result<(), ConnectorError> {
        let mut session = Session::open(&self.settings).await?;
        session.create(&self.processed).await?;
        loop {
            let selected = session.select(&self.folder).await?;
            let more = self
                .work_through(&mut session, selected.uid_validity)
                .await?;
            if more {
                continue;
            }
            looks.looked().await;
            tokio::select! {
                _ = stop.cancelled() => break,
                waited = session.wait(self.poll) => { waited?; }
            }
        }
        session.logout().await;
        Ok(())
    }

    /// Takes up to `BATCH` mails of the folder; true when more are waiting.
    async fn work_through(
        &self,
        session: &mut Session,
        uid_validity: u32,
    ) -> Result<bool, ConnectorError> {
        let store = &self.intakes.store;
        let stored = |e: crate::store::StoreError| ConnectorError::Transient(e.to_string());
        let uids = session.uid_search("ALL").await?;
        let mut handled = 0;
        for uid in uids {
            let key = MailKey::imap(uid_validity, uid);
            let position = store
                .mailbox_position(&self.name, &key)
                .await
                .map_err(stored)?;
            let outcome = match position.and_then(|p| p.outcome) {
                Some(outcome) => outcome,
                None => {
                    if handled == BATCH {
                        return Ok(true);
                    }
                    handled += 1;
                    let Some(mail) = session.fetch(uid).await? else {
                        continue;
                    };
                    self.intakes.take(&self.policy, &key, mail).await?
                }
            };
            let keyword = match outcome.as_str() {
                "filed" => FILED_KEYWORD,
                "queued" => REVIEW_KEYWORD,
                _ => continue,
            };
            session.add_keyword(uid, keyword).await?;
            session.move_to(uid, &self.processed).await?;
        }
        Ok(false)
    }
}
