//! Mail-in: each document mailed to a journal mailbox ("journaliseringspostkasse") that the
//! records system watches, with the case number in the subject (WorkZone's mailbox monitor
//! files a mail on the case named in square brackets).
//!
//! SMTP says only that a server took a mail, so a filing is reported as submitted, not filed.
//! With an IMAP read-back configured, the mailbox is searched for the filing's Message-ID
//! before sending, so a retry never sends twice, and briefly after, so a mail seen arriving is
//! reported as filed. A withdrawn document is answered by a correction mail on the same case.
//!
//! The SMTP client is a small one of our own rather than `lettre`: it shares the connection
//! and TLS plumbing of the IMAP client (`crate::mail`), the SMTP we need (one session,
//! STARTTLS, AUTH PLAIN/LOGIN) is a few commands, and owning the replies lets 4xx and 5xx map
//! exactly onto transient and permanent, with the server's words and no credentials.

mod headers;
mod message;
mod smtp;

use std::time::Duration;

use tokio::time::Instant;

use super::{
    BoxFuture, Capabilities, Connector, ConnectorError, FiledDocument, FilingRequest,
    WithdrawRequest, Withdrawal,
};
use crate::config::MailinConfig;
use crate::mail::imap::{self, ImapSettings, Login};
use crate::mail::stream::{self, Endpoint};
use headers::SubjectTemplate;
use message::{Composer, Outgoing};
use smtp::{Envelope, SmtpSettings};

/// The longest wait between two looks for a sent mail.
const MAX_CONFIRM_PAUSE: Duration = Duration::from_secs(2);

pub struct MailinConnector {
    composer: Composer,
    smtp: SmtpSettings,
    readback: Option<ImapSettings>,
    /// How long to look for a sent mail before calling it only submitted.
    confirm: Duration,
}

impl MailinConnector {
    pub fn new(config: &MailinConfig) -> Result<MailinConnector, String> {
        let domain = config
            .from
            .rsplit_once('@')
            .map(|(_, domain)| domain.to_string())
            .ok_or("from must be a mail address")?;
        let tls_config = stream::tls_config(&config.ca_file)?;
        let timeout = Duration::from_secs(config.timeout_secs.max(1));
        let endpoint = |protocol, host: &str, port, tls| Endpoint {
            protocol,
            host: host.to_string(),
            port,
            tls,
            timeout,
            tls_config: tls_config.clone(),
        };
        let smtp = SmtpSettings {
            endpoint: endpoint("smtp", &config.host, config.port, config.tls),
            credentials: (!config.username.is_empty())
                .then(|| (config.username.clone(), config.password.clone())),
        };
        if smtp.credentials.is_some() && !smtp.endpoint.may_send_password() {
            return Err(unencrypted("tls"));
        }
        let readback = if config.imap_host.is_empty() {
            None
        } else {
            let imap = ImapSettings {
                endpoint: endpoint("imap", &config.imap_host, config.imap_port, config.imap_tls),
                login: Login::Password {
                    username: config.imap_username.clone(),
                    password: config.imap_password.clone(),
                },
                mailboxes: config.imap_mailboxes.clone(),
            };
            if !imap.endpoint.may_send_password() {
                return Err(unencrypted("imap_tls"));
            }
            let quotable = |s: &str| !s.contains(['\r', '\n', '\0']);
            let names = [config.imap_username.as_str(), config.imap_password.expose()];
            if !names
                .into_iter()
                .chain(imap.mailboxes.iter().map(String::as_str))
                .all(quotable)
            {
                return Err(
                    "imap_username, imap_password and imap_mailboxes cannot hold line breaks"
                        .into(),
                );
            }
            Some(imap)
        };
        Ok(MailinConnector {
            composer: Composer {
                from: config.from.clone(),
                to: config.to.clone(),
                domain,
                mode: config.mode,
                subject: SubjectTemplate::parse(&config.subject)?,
            },
            smtp,
            readback,
            confirm: Duration::from_secs(config.confirm_secs),
        })
    }

    #[tracing::instrument(name = "mailin", skip_all, fields(messages))]
    async fn deliver(&self, request: &FilingRequest) -> Result<FiledDocument, ConnectorError> {
        let messages = self.composer.messages(request);
        tracing::Span::current().record("messages", messages.len());
        let main_id = match messages.last() {
            Some(main) => main.message_id.clone(),
            None => return Err(ConnectorError::Permanent("nothing to send".into())),
        };
        // A new version goes as a mail of its own, but the document keeps the first mail's
        // id, as every target answers for a version; the mail itself is found by its own id.
        let document_id = request
            .new_version_of
            .as_ref()
            .map_or_else(|| main_id.clone(), |earlier| earlier.document_id.clone());
        let Some(readback) = &self.readback else {
            self.send(messages.iter().collect()).await?;
            return Ok(FiledDocument::submitted(document_id));
        };
        // Unable to look, we do not send: a mail sent twice cannot be called back.
        let ids: Vec<String> = messages.iter().map(|m| m.message_id.clone()).collect();
        let there = imap::find(readback, &ids).await?;
        let missing: Vec<&Outgoing> = messages
            .iter()
            .filter(|m| !there.contains(&m.message_id))
            .collect();
        if missing.is_empty() {
            return Ok(FiledDocument::filed(document_id));
        }
        let sent: Vec<String> = missing.iter().map(|m| m.message_id.clone()).collect();
        self.send(missing).await?;
        if self.arrived(readback, sent).await {
            Ok(FiledDocument::filed(document_id))
        } else {
            tracing::info!(message_id = %main_id, "mail sent but not yet seen in the journal mailbox; submitted");
            Ok(FiledDocument::submitted(document_id))
        }
    }

    /// A journal mailbox cannot give a mail back: a correction mail naming the first goes to
    /// the same case, once (with a read-back, a retry finds it sent).
    async fn correct(&self, request: &WithdrawRequest) -> Result<Withdrawal, ConnectorError> {
        let correction = self.composer.correction(request);
        let note = format!(
            "correction mail {} sent to the journal mailbox",
            correction.message_id
        );
        if let Some(readback) = &self.readback {
            let there = imap::find(readback, std::slice::from_ref(&correction.message_id)).await?;
            if there.contains(&correction.message_id) {
                return Ok(Withdrawal::Corrected(note));
            }
        }
        self.send(vec![&correction]).await?;
        Ok(Withdrawal::Corrected(note))
    }

    async fn send(&self, messages: Vec<&Outgoing>) -> Result<(), ConnectorError> {
        let envelope = Envelope {
            from: &self.composer.from,
            to: &self.composer.to,
        };
        let bytes: Vec<&[u8]> = messages.iter().map(|m| m.bytes.as_slice()).collect();
        smtp::send(&self.smtp, &envelope, &bytes).await?;
        tracing::debug!(count = bytes.len(), "mails handed to the SMTP server");
        Ok(())
    }

    /// Whether every sent mail shows up in the mailbox within the confirmation time. The mails
    /// are sent: a failure to look only leaves them unconfirmed.
    async fn arrived(&self, readback: &ImapSettings, mut waiting: Vec<String>) -> bool {
        let deadline = Instant::now() + self.confirm;
        let mut pause = Duration::from_millis(100);
        while Instant::now() + pause <= deadline {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_CONFIRM_PAUSE);
            match imap::find(readback, &waiting).await {
                Ok(found) => waiting.retain(|id| !found.contains(id)),
                Err(error) => {
                    tracing::warn!(%error, "could not look for the sent mail in the journal mailbox")
                }
            }
            if waiting.is_empty() {
                return true;
            }
        }
        false
    }
}

fn unencrypted(setting: &str) -> String {
    format!(
        "a password goes only over TLS ({setting} = \"starttls\" or \"tls\"), or in plain text \
         to this machine"
    )
}

impl Connector for MailinConnector {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            list_cases: false,
            read_case: false,
            withdraw: true,
            list_documents: false,
        }
    }

    fn file(&self, request: FilingRequest) -> BoxFuture<'_, Result<FiledDocument, ConnectorError>> {
        Box::pin(async move { self.deliver(&request).await })
    }

    fn withdraw(
        &self,
        request: WithdrawRequest,
    ) -> BoxFuture<'_, Result<Withdrawal, ConnectorError>> {
        Box::pin(async move { self.correct(&request).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MailTls;

    fn config() -> MailinConfig {
        MailinConfig {
            name: "journalpostkasse".into(),
            to: "journal@vejstrand.example".into(),
            from: "journaliser@vejstrand.example".into(),
            host: "smtp.vejstrand.example".into(),
            ..MailinConfig::default()
        }
    }

    #[test]
    fn passwords_go_only_over_tls_or_to_this_machine() {
        let secret = serde_json::from_value(serde_json::json!("hemmelig")).unwrap();
        let mut plain = config();
        plain.tls = MailTls::None;
        plain.username = "journaliser".into();
        plain.password = secret;
        assert!(MailinConnector::new(&plain).is_err());
        plain.host = "127.0.0.1".into();
        assert!(MailinConnector::new(&plain).is_ok());

        let mut imap = config();
        imap.imap_host = "imap.vejstrand.example".into();
        imap.imap_tls = MailTls::None;
        imap.imap_username = "journal".into();
        assert!(MailinConnector::new(&imap).is_err());
        imap.imap_tls = MailTls::Tls;
        assert!(MailinConnector::new(&imap).is_ok());
    }

    #[test]
    fn bad_settings_are_refused_at_start() {
        let mut subject = config();
        subject.subject = "[{sagsnummer}] {title}".into();
        let mut ca = config();
        ca.ca_file = "/nonexistent/ca.pem".into();
        let mut mailbox = config();
        mailbox.imap_host = "imap.vejstrand.example".into();
        mailbox.imap_mailboxes = vec!["INBOX\r\nj9 DELETE INBOX".into()];
        for bad in [subject, ca, mailbox] {
            assert!(MailinConnector::new(&bad).is_err(), "{bad:?}");
        }
    }
}
