//! One typed configuration: defaults in code, then `journaliser.toml`, then `JOURNALISER_*`
//! environment variables (`__` separates nested keys), then command-line flags.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::identifiers::IdentifierPatterns;

const ENV_PREFIX: &str = "JOURNALISER_";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Everything the service keeps on disk lives under this directory unless said otherwise.
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub index: IndexConfig,
    pub auth: AuthConfig,
    pub privacy: PrivacyConfig,
    pub extract: ExtractConfig,
    pub filing: FilingConfig,
    pub archive: ArchiveConfig,
    /// Targets besides the built-in archive, each a named instance (`[[connectors]]`).
    pub connectors: Vec<ConnectorConfig>,
    pub sync: SyncConfig,
    pub log: LogConfig,
    pub addin: AddinConfig,
    pub tls: TlsConfig,
    pub autofile: AutofileConfig,
    /// Functional mailboxes the service watches and journalises (`[[mailboxes]]`).
    pub mailboxes: Vec<MailboxConfig>,
    pub threads: ThreadsConfig,
    pub new_case: NewCaseConfig,
}

/// Proposals for a new case when no suggestion fits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewCaseConfig {
    /// The organisation's naming pattern for case titles: `{kle_title}`, `{kle}`, `{party}`
    /// and `{subject}`; a part left empty drops the separator before it.
    pub title_pattern: String,
    /// The connector instance new cases are created in (one that can create cases).
    pub connector: String,
}

impl Default for NewCaseConfig {
    fn default() -> Self {
        NewCaseConfig {
            title_pattern: "{kle_title} – {party} – {subject}".into(),
            connector: crate::connector::ARCHIVE.into(),
        }
    }
}

/// Following a filed mail's thread in the caseworker's own Exchange Online mailbox
/// ("Journalisér også svar i tråden"), through Graph as an app granted `Mail.ReadWrite`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThreadsConfig {
    /// The app that reads the caseworkers' mailboxes; unset: no one can follow a thread.
    pub entra: Option<EntraAppConfig>,
    /// How often each followed thread is looked at.
    pub poll_secs: u64,
}

impl Default for ThreadsConfig {
    fn default() -> Self {
        ThreadsConfig {
            entra: None,
            poll_secs: 60,
        }
    }
}

/// A functional mailbox (byg@, borgerservice@ …) read over IMAP or, for Exchange Online,
/// Microsoft Graph: every new mail goes through the auto-journalisation policy, then is
/// marked and moved.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailboxConfig {
    /// How rules and the review queue name it.
    pub name: String,
    pub protocol: MailboxProtocol,
    /// The app the service signs in as: to Graph (`protocol = "graph"`), or to Exchange
    /// Online's IMAP by SASL XOAUTH2 with the app's own token (`IMAP.AccessAsApp`).
    pub entra: Option<EntraAppConfig>,
    pub host: String,
    pub port: u16,
    pub tls: MailTls,
    /// The IMAP login; over Graph, the mailbox's address (`byg@vejstrand.dk`).
    pub username: String,
    pub password: Secret,
    /// An OAuth 2.0 access token for SASL XOAUTH2 (Exchange Online) instead of a password.
    pub oauth2_token: Secret,
    /// The folder watched; over Graph a well-known name (`inbox`) or a top folder's name.
    pub folder: String,
    /// Where a mail goes once filed or queued for review.
    pub processed_folder: String,
    /// The groups whose cases its mail may be filed on, and who work its review queue.
    pub groups: Vec<String>,
    /// Its review queue; empty: the mailbox's name.
    pub review_queue: String,
    /// Its own choices over `[autofile]`.
    pub autofile: AutofileOverrides,
    /// Longest wait between two looks (IDLE tells of new mail sooner where offered).
    pub poll_secs: u64,
    /// Longest one IMAP step may take.
    pub timeout_secs: u64,
    /// A PEM file of CA certificates trusted for the server besides the system's.
    pub ca_file: PathBuf,
}

impl Default for MailboxConfig {
    fn default() -> Self {
        MailboxConfig {
            name: String::new(),
            protocol: MailboxProtocol::Imap,
            entra: None,
            host: String::new(),
            port: 993,
            tls: MailTls::Tls,
            username: String::new(),
            password: Secret::default(),
            oauth2_token: Secret::default(),
            folder: "INBOX".into(),
            processed_folder: "Journaliseret".into(),
            groups: Vec::new(),
            review_queue: String::new(),
            autofile: AutofileOverrides::default(),
            poll_secs: 60,
            timeout_secs: 30,
            ca_file: PathBuf::new(),
        }
    }
}

impl MailboxConfig {
    pub fn queue(&self) -> &str {
        match self.review_queue.trim() {
            "" => &self.name,
            queue => queue,
        }
    }

    fn validate(&self) -> Result<(), String> {
        if self.folder.trim().is_empty()
            || self.processed_folder.trim().is_empty()
            || self.folder == self.processed_folder
        {
            return Err("folder and processed_folder must be given and differ".into());
        }
        match (self.protocol, &self.entra) {
            (MailboxProtocol::Graph, Some(entra)) => return self.validate_graph(entra),
            (MailboxProtocol::Graph, None) => {
                return Err("protocol = \"graph\" needs [mailboxes.entra]".into());
            }
            (MailboxProtocol::Imap, Some(entra)) => {
                entra.validate()?;
                if !self.password.is_empty() || !self.oauth2_token.is_empty() {
                    return Err(
                        "[mailboxes.entra] signs in by itself: give no password or oauth2_token"
                            .into(),
                    );
                }
            }
            (MailboxProtocol::Imap, None) => {}
        }
        if self.host.trim().is_empty() || self.username.trim().is_empty() {
            return Err("host and username are required".into());
        }
        if self.entra.is_none() && self.password.is_empty() == self.oauth2_token.is_empty() {
            return Err("give password or oauth2_token, one of them".into());
        }
        let texts = [
            self.username.as_str(),
            self.password.expose(),
            self.oauth2_token.expose(),
            self.folder.as_str(),
            self.processed_folder.as_str(),
        ];
        if texts.iter().any(|t| t.contains(['\r', '\n', '\0'])) {
            return Err(
                "username, password, oauth2_token and folders cannot hold line breaks".into(),
            );
        }
        let loopback = self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if self.tls == MailTls::None && !loopback {
            return Err("a password goes only over TLS (tls = \"starttls\" or \"tls\"), or in plain text to this machine".into());
        }
        Ok(())
    }

    fn validate_graph(&self, entra: &EntraAppConfig) -> Result<(), String> {
        if self.username.trim().is_empty() {
            return Err("username (the mailbox's address) is required".into());
        }
        if !self.host.is_empty() || !self.password.is_empty() || !self.oauth2_token.is_empty() {
            return Err(
                "host, password and oauth2_token are IMAP's; Graph signs in as [mailboxes.entra]"
                    .into(),
            );
        }
        entra.validate()
    }
}

/// Which protocol a watched mailbox is read over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailboxProtocol {
    Imap,
    /// Microsoft Graph, for Exchange Online: delta queries, the MIME by `$value`, a category
    /// instead of a keyword.
    Graph,
}

/// An app registered in the tenant's Entra ID that the service signs in as (client
/// credentials), with a client secret or a certificate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EntraAppConfig {
    pub tenant_id: String,
    pub client_id: String,
    /// The app's client secret, or else its certificate (PEM) and that certificate's RSA
    /// private key (PEM, not encrypted), read at start.
    pub client_secret: Secret,
    pub client_cert_file: PathBuf,
    pub client_key_file: PathBuf,
    /// The sign-in authority; another cloud's (or a test's) when not the public one.
    pub login_url: String,
    /// Graph's root; another cloud's (or a test's) when not the public one.
    pub graph_url: String,
    /// Longest one request may take.
    pub timeout_secs: u64,
}

impl Default for EntraAppConfig {
    fn default() -> Self {
        EntraAppConfig {
            tenant_id: String::new(),
            client_id: String::new(),
            client_secret: Secret::default(),
            client_cert_file: PathBuf::new(),
            client_key_file: PathBuf::new(),
            login_url: "https://login.microsoftonline.com".into(),
            graph_url: "https://graph.microsoft.com/v1.0".into(),
            timeout_secs: 60,
        }
    }
}

impl EntraAppConfig {
    fn validate(&self) -> Result<(), String> {
        for (key, value) in [
            ("tenant_id", &self.tenant_id),
            ("client_id", &self.client_id),
        ] {
            if value.trim().is_empty() {
                return Err(format!("{key} is required"));
            }
        }
        let certificate = [&self.client_cert_file, &self.client_key_file]
            .map(|file| !file.as_os_str().is_empty());
        match (self.client_secret.is_empty(), certificate) {
            (false, [false, false]) | (true, [true, true]) => Ok(()),
            (true, [false, false]) => {
                Err("give client_secret, or client_cert_file and client_key_file".into())
            }
            (false, [true, _] | [_, true]) => {
                Err("give client_secret or a certificate, not both".into())
            }
            (true, _) => Err("give client_cert_file and client_key_file together".into()),
        }
    }
}

/// Auto-journalisation: which evidence may file an item without a click (`[autofile]`). A
/// watched mailbox may override each switch for its own mail.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutofileConfig {
    /// A sent mail carrying its writer's "Journalisér ved afsendelse" reference.
    pub intent: bool,
    /// A reply or forward in a thread filed on exactly one case.
    pub thread: bool,
    /// The number of exactly one open case in the subject or the first lines.
    pub case_number: bool,
    /// Admins' routing rules whose action is to file.
    pub rules: bool,
    /// The ranker's calibrated confidence from which it files by itself; unset: never, until
    /// an admin has seen what it would do.
    pub confidence_threshold: Option<f64>,
    /// Days after a filing within which it can be undone.
    pub undo_days: u64,
}

impl Default for AutofileConfig {
    fn default() -> Self {
        AutofileConfig {
            intent: true,
            thread: true,
            case_number: true,
            rules: true,
            confidence_threshold: None,
            undo_days: 14,
        }
    }
}

/// A mailbox's own choices over `[autofile]`; what it leaves unset follows the organisation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutofileOverrides {
    pub intent: Option<bool>,
    pub thread: Option<bool>,
    pub case_number: Option<bool>,
    pub rules: Option<bool>,
    pub confidence_threshold: Option<f64>,
}

impl AutofileConfig {
    /// The switches in force where `overrides` apply.
    pub fn with(&self, overrides: &AutofileOverrides) -> AutofileConfig {
        AutofileConfig {
            intent: overrides.intent.unwrap_or(self.intent),
            thread: overrides.thread.unwrap_or(self.thread),
            case_number: overrides.case_number.unwrap_or(self.case_number),
            rules: overrides.rules.unwrap_or(self.rules),
            confidence_threshold: overrides.confidence_threshold.or(self.confidence_threshold),
            undo_days: self.undo_days,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    /// Largest accepted upload, in bytes.
    pub max_body_bytes: usize,
    /// Upper bound on one request, so a graceful shutdown cannot wait forever for one.
    pub request_timeout_secs: u64,
    /// Requests one user may make a minute (in bursts of as many); more get 429.
    pub requests_per_minute: u32,
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://…` or `postgres://…`; empty means `<data_dir>/journaliser.db`.
    pub url: String,
}

/// The URL without its password.
impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("url", &crate::store::redacted_url(&self.url))
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IndexConfig {
    /// Empty means `<data_dir>/index`.
    pub dir: PathBuf,
    /// Memory the index writer may buffer before it flushes a segment.
    pub writer_memory_mb: usize,
    /// How often filed items are committed to the index; a suggestion commits first anyway
    /// if anything is still waiting.
    pub commit_interval_ms: u64,
}

impl IndexConfig {
    pub fn commit_interval(&self) -> Duration {
        Duration::from_millis(self.commit_interval_ms.max(10))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Accept the service's own tokens (`journaliser token`). Convenient on one machine; turn
    /// it off where users sign in with Entra ID.
    pub dev_tokens: bool,
    /// Lifetime of tokens printed by `journaliser token`.
    pub token_ttl_hours: u64,
    pub entra: EntraConfig,
}

/// Microsoft Entra ID access tokens, as the Office add-ins' nested app authentication sends
/// them. Off while `tenants` is empty.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EntraConfig {
    /// Tenant ids (GUIDs) whose users may sign in.
    pub tenants: Vec<String>,
    /// Accepted `aud` values: the API's client id, and its app id URI if tokens carry that.
    pub audiences: Vec<String>,
    /// The delegated scope every user token must carry.
    pub required_scope: String,
    /// App roles that make a user an admin.
    pub admin_roles: Vec<String>,
    /// Group object ids whose members are admins.
    pub admin_groups: Vec<String>,
    /// Where tenants' OpenID metadata is found: `<authority>/<tenant>/v2.0/.well-known/openid-configuration`.
    pub authority: String,
    /// How often signing keys are fetched anew.
    pub key_refresh_secs: u64,
    /// Least time between two fetches caused by a token signed with an unknown key.
    pub unknown_key_refresh_secs: u64,
    /// Allowed clock difference when checking `exp` and `nbf`.
    pub leeway_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// Key for the keyed hash of CPR numbers. Empty: a random key is made once and kept in
    /// `<data_dir>/cpr-hash.key`. Changing it makes every stored CPR hash unmatchable.
    pub cpr_hash_key: Secret,
    /// Uploads that are never filed are deleted this many hours after upload.
    pub unfiled_item_hours: u64,
    /// The original bytes of a filed item are dropped this many hours after its last filing
    /// was delivered; the target keeps the document, and its text stays for suggestions.
    pub filed_original_hours: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExtractConfig {
    /// Regular expressions for case and journal numbers; vendors' formats differ.
    pub journal_number_patterns: Vec<String>,
    /// How deep nested mails are followed.
    pub max_depth: usize,
    /// Longest one upload may take to read; a file that takes longer is refused.
    pub timeout_secs: u64,
    /// Uploads read at the same time. A refused slow file keeps its slot until its thread ends,
    /// so hostile files can never occupy more than this many cores.
    pub max_concurrent: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilingConfig {
    /// Deliveries tried before a filing is marked failed.
    pub max_attempts: u32,
    pub initial_backoff_secs: u64,
    pub max_backoff_secs: u64,
    /// How often an idle worker looks for due filings.
    pub poll_interval_ms: u64,
    /// How long a claimed filing stays reserved for the worker that claimed it.
    pub lease_secs: u64,
    /// Deliveries in progress at once. Each case still gets its documents one at a time, in
    /// the order they were accepted.
    pub workers: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncConfig {
    /// Minutes between syncs of the cases of every connector that can list them; the first
    /// runs shortly after the start. 0: only when an admin asks (`POST /api/v1/admin/sync`).
    pub interval_minutes: u64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            interval_minutes: 60,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArchiveConfig {
    /// Root of the built-in file archive; empty means `<data_dir>/archive`.
    pub root: PathBuf,
}

/// One connector instance: a target of some kind under a name cases refer to
/// (`cases.connector`). The built-in archive is always there as `archive`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConnectorConfig {
    /// Another file archive, e.g. a share that a records system imports from.
    Archive(ArchiveInstanceConfig),
    Webdav(WebdavConfig),
    Webhook(WebhookConfig),
    Mailin(MailinConfig),
    Sharepoint(Box<SharepointConfig>),
    F2(F2Config),
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArchiveInstanceConfig {
    pub name: String,
    pub root: PathBuf,
}

/// A WebDAV server: a collection per case under `url`, each document with its metadata as
/// properties.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebdavConfig {
    pub name: String,
    /// The collection the case collections are made in, e.g. `https://dav.example/sager/`.
    pub url: String,
    /// Basic authentication when not empty.
    pub username: String,
    pub password: Secret,
    /// Longest one request may take.
    pub timeout_secs: u64,
}

/// A fagsystem's HTTP endpoint that takes a JSON document per filing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    pub name: String,
    /// Where each filing is POSTed.
    pub url: String,
    /// Extra request headers. Their values are secret: they often carry API keys.
    pub headers: BTreeMap<String, Secret>,
    /// `Authorization: Bearer …` when not empty.
    pub bearer_token: Secret,
    /// Basic authentication when not empty.
    pub username: String,
    pub password: Secret,
    /// The JSON body with `{placeholders}`; empty means the built-in body (see the README).
    pub body: String,
    /// Where the target's document id is in its answer, as a JSON pointer (RFC 6901); an
    /// answer without one counts as submitted, not filed.
    pub id_pointer: String,
    /// Where a withdrawn filing is POSTed (`{"idempotency_key", "document_id", "case",
    /// "withdrawn_by", "reason"}`); empty: the fagsystem cannot take documents back.
    pub withdraw_url: String,
    /// Where a new case is POSTed (`{"id", "title", "kle", "facet", "parties", "groups",
    /// "opened"}`, `Idempotency-Key` the case id); empty: the fagsystem's cases are made there.
    pub create_url: String,
    /// Where the number the fagsystem gave a new case is in its answer, as a JSON pointer;
    /// an answer without one keeps the case id as its number.
    pub case_number_pointer: String,
    /// Longest one request may take.
    pub timeout_secs: u64,
    /// Mutual TLS: our client certificate (PEM, the chain from ours up) and its private key
    /// (PEM, not encrypted), both or neither; read at start.
    pub client_cert_file: PathBuf,
    pub client_key_file: PathBuf,
    /// A PEM file of CA certificates trusted for the fagsystem's certificate besides the
    /// system's; empty for none.
    pub ca_file: PathBuf,
}

/// A journal mailbox ("journaliseringspostkasse") that a records system files from: each
/// document is mailed to it over SMTP with the case number in the subject.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailinConfig {
    pub name: String,
    /// The journal mailbox's address.
    pub to: String,
    /// The sender of the mails (envelope and `From`); its domain ends their Message-IDs.
    pub from: String,
    pub mode: MailinMode,
    /// The subject, with `{case_number}`, `{case_id}`, `{case_title}`, `{title}` and
    /// `{subject}` (a mail's own); `{{` and `}}` are braces.
    pub subject: String,
    /// The SMTP server.
    pub host: String,
    pub port: u16,
    pub tls: MailTls,
    /// SMTP AUTH when not empty.
    pub username: String,
    pub password: Secret,
    /// A PEM file of CA certificates trusted besides the system's (for the SMTP and IMAP
    /// servers); empty for none.
    pub ca_file: PathBuf,
    /// Longest one step of talking to a server may take.
    pub timeout_secs: u64,
    /// The IMAP server holding the journal mailbox, to read back what was sent: before
    /// sending (a retry never sends twice) and after (a mail seen there is filed). Empty:
    /// no read-back, and every filing is only submitted.
    pub imap_host: String,
    pub imap_port: u16,
    pub imap_tls: MailTls,
    pub imap_username: String,
    pub imap_password: Secret,
    /// The folders searched for a sent mail (read only).
    pub imap_mailboxes: Vec<String>,
    /// How long to look for a sent mail before reporting it only submitted.
    pub confirm_secs: u64,
}

/// A SharePoint document library through Microsoft Graph: a folder per case, each document
/// described in the library's columns. The service signs in as an Entra ID app
/// (client credentials) with `Sites.ReadWrite.All` or `Sites.Selected` on the site.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SharepointConfig {
    pub name: String,
    /// The site: `<host>:/sites/<path>` (`vejstrand.sharepoint.com:/sites/sager`) or its id.
    pub site: String,
    /// The document library's name on the site (`Sager`).
    pub library: String,
    /// The folder in the library that holds the case folders; empty for its top.
    pub folder: String,
    pub tenant_id: String,
    pub client_id: String,
    /// The app's client secret, or else its certificate (PEM) and that certificate's RSA
    /// private key (PEM, not encrypted), read at start.
    pub client_secret: Secret,
    pub client_cert_file: PathBuf,
    pub client_key_file: PathBuf,
    /// The sign-in authority; another cloud's (or a test's) when not the public one.
    pub login_url: String,
    /// Graph's root; another cloud's (or a test's) when not the public one.
    pub graph_url: String,
    /// Longest one request may take.
    pub timeout_secs: u64,
    pub columns: SharepointColumns,
}

/// The library's columns (internal names) that case folders and documents are described
/// in; an empty name is a column the library lacks, neither read nor written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SharepointColumns {
    pub case_number: String,
    pub kle: String,
    pub facet: String,
    /// Open or closed (`Åben`, `Lukket`, `open`, `closed`).
    pub status: String,
    /// `kind:value` pairs separated by `;`, as in a CSV import.
    pub parties: String,
    /// The groups that may see the case, separated by `;`; empty: everyone.
    pub groups: String,
    /// The filing id a document was filed under.
    pub filing_id: String,
    /// Indgående, Udgående or Intern.
    pub direction: String,
    pub document_date: String,
    pub filed_by: String,
    /// On a separate attachment: the filing id of the mail it came with.
    pub attachment_of: String,
    /// The number of the version a document was last filed as.
    pub version: String,
}

impl Default for SharepointConfig {
    fn default() -> Self {
        SharepointConfig {
            name: String::new(),
            site: String::new(),
            library: String::new(),
            folder: String::new(),
            tenant_id: String::new(),
            client_id: String::new(),
            client_secret: Secret::default(),
            client_cert_file: PathBuf::new(),
            client_key_file: PathBuf::new(),
            login_url: "https://login.microsoftonline.com".into(),
            graph_url: "https://graph.microsoft.com/v1.0".into(),
            timeout_secs: 60,
            columns: SharepointColumns::default(),
        }
    }
}

impl Default for SharepointColumns {
    fn default() -> Self {
        SharepointColumns {
            case_number: "Sagsnummer".into(),
            kle: "KLE".into(),
            facet: "Facet".into(),
            status: "Sagsstatus".into(),
            parties: "Parter".into(),
            groups: "Adgang".into(),
            filing_id: "JournaliserId".into(),
            direction: "Retning".into(),
            document_date: "Dokumentdato".into(),
            filed_by: "JournaliseretAf".into(),
            attachment_of: "BilagTil".into(),
            version: "JournaliserVersion".into(),
        }
    }
}

impl SharepointConfig {
    /// The app it signs in as, described as every Graph client's is.
    pub fn entra(&self) -> EntraAppConfig {
        EntraAppConfig {
            tenant_id: self.tenant_id.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            client_cert_file: self.client_cert_file.clone(),
            client_key_file: self.client_key_file.clone(),
            login_url: self.login_url.clone(),
            graph_url: self.graph_url.clone(),
            timeout_secs: self.timeout_secs,
        }
    }

    fn validate(&self) -> Result<(), String> {
        for (key, value) in [("site", &self.site), ("library", &self.library)] {
            if value.trim().is_empty() {
                return Err(format!("{key} is required"));
            }
        }
        self.entra().validate()
    }
}

/// cBrain F2 through its REST service: a matter per filing on the case, the files as its
/// documents, every create by Post Once Exactly.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct F2Config {
    pub name: String,
    /// The service index, the one address of F2's that is configured; every other is found
    /// by its link relations.
    pub url: String,
    /// The OAuth 2.0 token endpoint.
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// The service user (password grant); empty: client credentials.
    pub username: String,
    pub password: Secret,
    /// Sent with the token request when not empty.
    pub scope: String,
    /// Longest one request may take.
    pub timeout_secs: u64,
}

impl Default for F2Config {
    fn default() -> Self {
        F2Config {
            name: String::new(),
            url: String::new(),
            token_url: String::new(),
            client_id: String::new(),
            client_secret: Secret::default(),
            username: String::new(),
            password: Secret::default(),
            scope: String::new(),
            timeout_secs: 60,
        }
    }
}

impl F2Config {
    fn validate(&self) -> Result<(), String> {
        if self.url.is_empty() || self.token_url.is_empty() || self.client_id.is_empty() {
            return Err("url, token_url and client_id are required".into());
        }
        if self.username.is_empty() != self.password.is_empty() {
            return Err("give username and password together".into());
        }
        Ok(())
    }
}

/// How a mail that is filed travels to the journal mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailinMode {
    /// Attached (`message/rfc822`) to a new mail from `from`.
    Attach,
    /// Sent on as it is, from its own sender, with our subject, Message-ID and `Resent-`
    /// fields.
    Resend,
}

/// Encryption of a connection to a mail server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailTls {
    /// Plain text.
    None,
    /// Plain, then STARTTLS, required: a server that does not offer it is refused.
    Starttls,
    /// TLS from the first byte (port 465 for SMTP, 993 for IMAP).
    Tls,
}

impl ConnectorConfig {
    pub fn name(&self) -> &str {
        match self {
            ConnectorConfig::Archive(c) => &c.name,
            ConnectorConfig::Webdav(c) => &c.name,
            ConnectorConfig::Webhook(c) => &c.name,
            ConnectorConfig::Mailin(c) => &c.name,
            ConnectorConfig::Sharepoint(c) => &c.name,
            ConnectorConfig::F2(c) => &c.name,
        }
    }

    fn validate(&self) -> Result<(), String> {
        let (url, username, password) = match self {
            ConnectorConfig::Archive(c) if c.root.as_os_str().is_empty() => {
                return Err("root is required".into());
            }
            ConnectorConfig::Archive(_) => return Ok(()),
            ConnectorConfig::Mailin(c) => return c.validate(),
            ConnectorConfig::Sharepoint(c) => return c.validate(),
            ConnectorConfig::F2(c) => return c.validate(),
            ConnectorConfig::Webdav(c) => (&c.url, &c.username, &c.password),
            ConnectorConfig::Webhook(c) => {
                if !c.bearer_token.is_empty() && !c.username.is_empty() {
                    return Err("give bearer_token or username, not both".into());
                }
                if !c.id_pointer.is_empty() && !c.id_pointer.starts_with('/') {
                    return Err("id_pointer must be empty or start with /".into());
                }
                if c.client_cert_file.as_os_str().is_empty()
                    != c.client_key_file.as_os_str().is_empty()
                {
                    return Err("give client_cert_file and client_key_file together".into());
                }
                (&c.url, &c.username, &c.password)
            }
        };
        if url.is_empty() {
            return Err("url is required".into());
        }
        if username.is_empty() && !password.is_empty() {
            return Err("a password needs a username".into());
        }
        Ok(())
    }
}

impl Default for WebdavConfig {
    fn default() -> Self {
        WebdavConfig {
            name: String::new(),
            url: String::new(),
            username: String::new(),
            password: Secret::default(),
            timeout_secs: 60,
        }
    }
}

impl MailinConfig {
    fn validate(&self) -> Result<(), String> {
        let address = |a: &str| {
            a.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.is_empty()
                    && !a.contains(|c: char| {
                        c.is_whitespace() || c.is_control() || "<>,;\"".contains(c)
                    })
            })
        };
        if !address(&self.to) || !address(&self.from) {
            return Err("to and from must be mail addresses (name@domain)".into());
        }
        if self.host.is_empty() {
            return Err("host (the SMTP server) is required".into());
        }
        if self.username.is_empty() && !self.password.is_empty() {
            return Err("a password needs a username".into());
        }
        if !self.imap_host.is_empty()
            && (self.imap_username.is_empty() || self.imap_mailboxes.is_empty())
        {
            return Err("a read-back over IMAP needs imap_username and imap_mailboxes".into());
        }
        Ok(())
    }
}

impl Default for MailinConfig {
    fn default() -> Self {
        MailinConfig {
            name: String::new(),
            to: String::new(),
            from: String::new(),
            mode: MailinMode::Attach,
            subject: "[{case_number}] {title}".into(),
            host: String::new(),
            port: 587,
            tls: MailTls::Starttls,
            username: String::new(),
            password: Secret::default(),
            ca_file: PathBuf::new(),
            timeout_secs: 60,
            imap_host: String::new(),
            imap_port: 993,
            imap_tls: MailTls::Tls,
            imap_username: String::new(),
            imap_password: Secret::default(),
            imap_mailboxes: vec!["INBOX".into()],
            confirm_secs: 30,
        }
    }
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            name: String::new(),
            url: String::new(),
            headers: BTreeMap::new(),
            bearer_token: Secret::default(),
            username: String::new(),
            password: Secret::default(),
            body: String::new(),
            id_pointer: "/id".into(),
            withdraw_url: String::new(),
            create_url: String::new(),
            case_number_pointer: "/number".into(),
            timeout_secs: 60,
            client_cert_file: PathBuf::new(),
            client_key_file: PathBuf::new(),
            ca_file: PathBuf::new(),
        }
    }
}

/// The Office add-ins: the address their manifests point to, and how their panes sign in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AddinConfig {
    /// The service's public HTTPS address, e.g. `https://journaliser.kommune.example`. Empty:
    /// `https://localhost:<port>` while serving HTTPS, otherwise no manifests are served.
    pub public_url: String,
    /// Shown after the add-ins' names, so that a test installation is told from production.
    pub environment: String,
    /// The Entra ID application (client) id the panes sign in with. Empty: the panes use the
    /// service's own development tokens.
    pub client_id: String,
    /// The API's application id URI; empty means `api://<public host>/<client_id>`.
    pub app_id_uri: String,
    /// Fixed add-in ids (GUIDs). Empty: derived from `public_url`, the same on every run.
    pub outlook_id: String,
    pub word_id: String,
    pub unified_id: String,
    /// The pages that may show the add-in panes in a frame (CSP `frame-ancestors`): Office on
    /// the web and the new Outlook.
    pub frame_ancestors: Vec<String>,
}

/// HTTPS. Office loads add-ins only over HTTPS.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// Serve HTTPS with a certificate for localhost made on first start and kept in
    /// `<data_dir>/tls/`.
    pub self_signed: bool,
    /// A PEM certificate chain and its private key; both or neither.
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl TlsConfig {
    pub fn enabled(&self) -> bool {
        self.self_signed || !self.cert_file.as_os_str().is_empty()
    }
}

impl Default for AddinConfig {
    fn default() -> Self {
        AddinConfig {
            public_url: String::new(),
            environment: String::new(),
            client_id: String::new(),
            app_id_uri: String::new(),
            outlook_id: String::new(),
            word_id: String::new(),
            unified_id: String::new(),
            frame_ancestors: [
                "https://outlook.office.com",
                "https://outlook.office365.com",
                "https://outlook.cloud.microsoft",
                "https://outlook.live.com",
                "https://*.office.com",
                "https://*.office365.com",
                "https://*.cloud.microsoft",
                "https://*.microsoft365.com",
                "https://*.officeapps.live.com",
                "https://*.sharepoint.com",
                "https://onedrive.live.com",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `tracing` filter, e.g. `info` or `journaliser=debug,tower_http=info`.
    pub filter: String,
    /// One JSON object per line instead of human-readable lines.
    pub json: bool,
}

/// A secret string that never shows in `Debug` output or logs.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "\"[redacted]\""
        })
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            server: ServerConfig::default(),
            store: StoreConfig::default(),
            index: IndexConfig::default(),
            auth: AuthConfig::default(),
            privacy: PrivacyConfig::default(),
            extract: ExtractConfig::default(),
            filing: FilingConfig::default(),
            archive: ArchiveConfig::default(),
            connectors: Vec::new(),
            sync: SyncConfig::default(),
            log: LogConfig::default(),
            addin: AddinConfig::default(),
            tls: TlsConfig::default(),
            autofile: AutofileConfig::default(),
            mailboxes: Vec::new(),
            threads: ThreadsConfig::default(),
            new_case: NewCaseConfig::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 50 * 1024 * 1024,
            request_timeout_secs: 60,
            requests_per_minute: 600,
        }
    }
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        PrivacyConfig {
            cpr_hash_key: Secret::default(),
            unfiled_item_hours: 24,
            filed_original_hours: 24,
        }
    }
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            dir: PathBuf::new(),
            writer_memory_mb: 50,
            commit_interval_ms: 500,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            dev_tokens: true,
            token_ttl_hours: 12,
            entra: EntraConfig::default(),
        }
    }
}

impl Default for EntraConfig {
    fn default() -> Self {
        EntraConfig {
            tenants: Vec::new(),
            audiences: Vec::new(),
            required_scope: "access_as_user".into(),
            admin_roles: vec!["Journaliser.Admin".into()],
            admin_groups: Vec::new(),
            authority: "https://login.microsoftonline.com".into(),
            key_refresh_secs: 24 * 3600,
            unknown_key_refresh_secs: 300,
            leeway_secs: 60,
        }
    }
}

impl Default for ExtractConfig {
    fn default() -> Self {
        ExtractConfig {
            journal_number_patterns: IdentifierPatterns::default_journal_patterns(),
            max_depth: 5,
            timeout_secs: 30,
            max_concurrent: 2,
        }
    }
}

impl Default for FilingConfig {
    fn default() -> Self {
        FilingConfig {
            max_attempts: 12,
            initial_backoff_secs: 5,
            max_backoff_secs: 3600,
            poll_interval_ms: 500,
            lease_secs: 120,
            workers: 4,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            // tantivy reports every segment file it deletes at info level.
            filter: "info,tantivy=warn".into(),
            json: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
    #[error("environment variable {name}: {reason}")]
    Env { name: String, reason: String },
}

impl Config {
    /// Loads the configuration. `file` is read if given (it must exist) or, when `None`,
    /// `journaliser.toml` in the working directory if present. `env` is the process
    /// environment, passed in so that tests need not touch the real one.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut tree = toml::Table::new();
        let path = match file {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from("journaliser.toml")).filter(|p| p.exists()),
        };
        if let Some(path) = path {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            tree = text
                .parse::<toml::Table>()
                .map_err(|e| ConfigError::Invalid(format!("{}: {e}", path.display())))?;
        }
        for (name, value) in env {
            let Some(key) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if key == "CONFIG" {
                continue;
            }
            set_path(&mut tree, key, &value).map_err(|reason| ConfigError::Env { name, reason })?;
        }
        let config: Config = toml::Value::Table(tree)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_string()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        IdentifierPatterns::new(&self.extract.journal_number_patterns)
            .map_err(|e| ConfigError::Invalid(format!("extract.journal_number_patterns: {e}")))?;
        if self.filing.max_attempts == 0 {
            return Err(ConfigError::Invalid(
                "filing.max_attempts must be at least 1".into(),
            ));
        }
        if !self.auth.entra.tenants.is_empty() && self.auth.entra.audiences.is_empty() {
            return Err(ConfigError::Invalid(
                "auth.entra.audiences must name the API when tenants are set".into(),
            ));
        }
        if !self.auth.dev_tokens && self.auth.entra.tenants.is_empty() {
            return Err(ConfigError::Invalid(
                "no way to sign in: set auth.entra.tenants or turn auth.dev_tokens on".into(),
            ));
        }
        if self.extract.max_concurrent == 0 || self.extract.timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "extract.max_concurrent and extract.timeout_secs must be positive".into(),
            ));
        }
        if self.server.max_body_bytes == 0 {
            return Err(ConfigError::Invalid(
                "server.max_body_bytes must be positive".into(),
            ));
        }
        self.validate_addin_and_tls()?;
        if let Some(threshold) = self.autofile.confidence_threshold
            && !(0.5..=1.0).contains(&threshold)
        {
            return Err(ConfigError::Invalid(
                "autofile.confidence_threshold must be between 0.5 and 1".into(),
            ));
        }
        let mut mailboxes = std::collections::BTreeSet::new();
        for mailbox in &self.mailboxes {
            let name = mailbox.name.trim();
            if name.is_empty() || !mailboxes.insert(name) {
                return Err(ConfigError::Invalid(format!(
                    "every mailbox needs a name of its own (found {name:?} twice or empty)"
                )));
            }
            mailbox
                .validate()
                .map_err(|reason| ConfigError::Invalid(format!("mailbox {name:?}: {reason}")))?;
        }
        if let Some(entra) = &self.threads.entra {
            entra
                .validate()
                .map_err(|reason| ConfigError::Invalid(format!("threads.entra: {reason}")))?;
        }
        let mut names = std::collections::BTreeSet::from([crate::connector::ARCHIVE]);
        for connector in &self.connectors {
            let name = connector.name();
            let invalid =
                |reason: String| ConfigError::Invalid(format!("connector {name:?}: {reason}"));
            if name.trim().is_empty() {
                return Err(ConfigError::Invalid("every connector needs a name".into()));
            }
            if !names.insert(name) {
                return Err(invalid(
                    "the name is taken (`archive` is the built-in archive, set under [archive])"
                        .into(),
                ));
            }
            connector.validate().map_err(invalid)?;
        }
        Ok(())
    }

    fn validate_addin_and_tls(&self) -> Result<(), ConfigError> {
        let invalid = |message: String| Err(ConfigError::Invalid(message));
        let addin = &self.addin;
        if !addin.public_url.is_empty() {
            crate::web::PublicUrl::parse(&addin.public_url)
                .map_err(|e| ConfigError::Invalid(format!("addin.public_url: {e}")))?;
        }
        for (key, id) in [
            ("client_id", &addin.client_id),
            ("outlook_id", &addin.outlook_id),
            ("word_id", &addin.word_id),
            ("unified_id", &addin.unified_id),
        ] {
            if !id.is_empty() && uuid::Uuid::parse_str(id).is_err() {
                return invalid(format!("addin.{key} must be a GUID, not {id:?}"));
            }
        }
        if !addin.app_id_uri.is_empty() && addin.client_id.is_empty() {
            return invalid("addin.app_id_uri needs addin.client_id".into());
        }
        if !addin.client_id.is_empty() && self.auth.entra.tenants.is_empty() {
            return invalid(
                "addin.client_id needs auth.entra.tenants: the service must accept the panes' tokens".into(),
            );
        }
        for source in &addin.frame_ancestors {
            // Each entry goes into a response header as it is.
            let plain = !source
                .contains(|c: char| c.is_whitespace() || c.is_control() || c == ';' || c == ',');
            let allowed = source == "'self'"
                || (plain && source.len() > "https://".len() && source.starts_with("https://"));
            if !allowed {
                return invalid(format!(
                    "addin.frame_ancestors: {source:?} is not an https:// origin or 'self'"
                ));
            }
            if !wildcard_is_narrow(source) {
                return invalid(format!(
                    "addin.frame_ancestors: {source:?} is too wide; a wildcard stands only for \
                     the subdomains of a named domain, as in https://*.office.com"
                ));
            }
        }
        let tls = &self.tls;
        if tls.cert_file.as_os_str().is_empty() != tls.key_file.as_os_str().is_empty() {
            return invalid("tls.cert_file and tls.key_file go together".into());
        }
        if tls.self_signed && !tls.cert_file.as_os_str().is_empty() {
            return invalid("tls.self_signed and tls.cert_file exclude each other".into());
        }
        Ok(())
    }

    pub fn store_url(&self) -> String {
        if self.store.url.is_empty() {
            format!(
                "sqlite://{}",
                self.data_dir.join("journaliser.db").display()
            )
        } else {
            self.store.url.clone()
        }
    }

    pub fn index_dir(&self) -> PathBuf {
        or_under(&self.index.dir, &self.data_dir, "index")
    }

    pub fn archive_root(&self) -> PathBuf {
        or_under(&self.archive.root, &self.data_dir, "archive")
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.server.request_timeout_secs)
    }
}

fn or_under(path: &Path, data_dir: &Path, default: &str) -> PathBuf {
    if path.as_os_str().is_empty() {
        data_dir.join(default)
    } else {
        path.to_path_buf()
    }
}

/// Sets `SERVER__BIND`-style keys in the tree. The value is read as a TOML value when it parses
/// as one (numbers, booleans, arrays), otherwise as a plain string.
fn set_path(tree: &mut toml::Table, key: &str, raw: &str) -> Result<(), String> {
    let parts: Vec<String> = key.split("__").map(str::to_ascii_lowercase).collect();
    if parts.iter().any(String::is_empty) {
        return Err("empty key segment".into());
    }
    let value = format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()));
    let (last, parents) = parts.split_last().ok_or("empty key")?;
    let mut table = tree;
    for part in parents {
        let entry = table
            .entry(part.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        table = entry
            .as_table_mut()
            .ok_or_else(|| format!("{part} is not a section"))?;
    }
    table.insert(last.clone(), value);
    Ok(())
}

/// Whether a frame ancestor's wildcard, if it has one, stays inside one named domain: `*.` and
/// then at least two labels (`https://*.office.com`), never a bare `*` or `*.com`, which would
/// let any site frame the panes.
fn wildcard_is_narrow(source: &str) -> bool {
    let host = source
        .strip_prefix("https://")
        .and_then(|rest| rest.split(['/', ':']).next())
        .unwrap_or_default();
    if !host.contains('*') {
        return true;
    }
    host.strip_prefix("*.").is_some_and(|domain| {
        let labels: Vec<&str> = domain.split('.').collect();
        labels.len() >= 2 && labels.iter().all(|l| !l.is_empty() && !l.contains('*'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_work_without_file_or_environment() {
        let config = Config::load(Some(Path::new("/dev/null")), env(&[])).unwrap();
        assert_eq!(config.server.bind.port(), 8080);
        assert_eq!(config.server.max_body_bytes, 50 * 1024 * 1024);
        assert!(config.store_url().starts_with("sqlite://data"));
        assert_eq!(config.archive_root(), PathBuf::from("data/archive"));
    }

    #[test]
    fn environment_overrides_nested_keys_with_typed_values() {
        let config = Config::load(
            Some(Path::new("/dev/null")),
            env(&[
                ("JOURNALISER_SERVER__BIND", "0.0.0.0:9000"),
                ("JOURNALISER_SERVER__MAX_BODY_BYTES", "1024"),
                ("JOURNALISER_DATA_DIR", "/var/lib/journaliser"),
                ("JOURNALISER_LOG__JSON", "true"),
                ("UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(config.server.bind.port(), 9000);
        assert_eq!(config.server.max_body_bytes, 1024);
        assert!(config.log.json);
        assert_eq!(
            config.index_dir(),
            PathBuf::from("/var/lib/journaliser/index")
        );
    }

    #[test]
    fn misspelt_setting_is_an_error_not_silently_ignored() {
        let err = Config::load(
            Some(Path::new("/dev/null")),
            env(&[("JOURNALISER_SERVR__BIND", "x")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("servr"), "{err}");
    }

    #[test]
    fn file_settings_are_read_and_environment_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journaliser.toml");
        std::fs::write(
            &path,
            "[server]\nbind = \"127.0.0.1:7000\"\nmax_body_bytes = 10\n",
        )
        .unwrap();
        let config = Config::load(
            Some(&path),
            env(&[("JOURNALISER_SERVER__MAX_BODY_BYTES", "20")]),
        )
        .unwrap();
        assert_eq!(config.server.bind.port(), 7000);
        assert_eq!(config.server.max_body_bytes, 20);
    }

    #[test]
    fn frame_ancestor_wildcards_must_stay_inside_a_named_domain() {
        let with = |source: &str| {
            let mut config = Config::default();
            config.addin.frame_ancestors = vec![source.to_string()];
            config.validate().map_err(|e| e.to_string())
        };
        for wide in [
            "https://*",
            "https://*.com",
            "https://*.dk:443",
            "https://*.",
            "https://*..com",
            "https://a.*.com",
            "https://*.*.com",
            "https://*.example.*",
        ] {
            let err = with(wide).unwrap_err();
            assert!(err.contains("too wide"), "{wide}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
        for narrow in [
            "https://*.office.com",
            "https://*.cloud.microsoft",
            "https://*.kommune.dk:8443",
            "https://outlook.office.com",
            "'self'",
        ] {
            assert!(with(narrow).is_ok(), "{narrow}: {:?}", with(narrow));
        }
        assert!(Config::default().validate().is_ok());
    }

    #[test]
    fn invalid_journal_pattern_is_reported() {
        let err = Config::load(
            Some(Path::new("/dev/null")),
            env(&[("JOURNALISER_EXTRACT__JOURNAL_NUMBER_PATTERNS", "[\"(\"]")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("journal_number_patterns"), "{err}");
    }

    #[test]
    fn the_sample_configuration_parses_and_states_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("journaliser.example.toml");
        let sample = Config::load(Some(&path), env(&[])).unwrap();
        let as_toml = |c: &Config| toml::to_string(c).unwrap();
        assert_eq!(as_toml(&sample), as_toml(&Config::default()));
    }

    #[test]
    fn connectors_are_named_instances_of_a_kind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journaliser.toml");
        let write = |text: &str| std::fs::write(&path, text).unwrap();
        write(
            "[[connectors]]\nname = \"dokumenter\"\nkind = \"webdav\"\nurl = \"http://dav.example/sager/\"\n\
             username = \"j\"\npassword = \"hunter2\"\n\n\
             [[connectors]]\nname = \"byg\"\nkind = \"webhook\"\nurl = \"http://byg.example/journal\"\n\
             bearer_token = \"t0ken\"\nheaders = { X-Api-Key = \"k3y\" }\n\n\
             [store]\nurl = \"postgres://journaliser:pa55@db.example/journaliser\"\n",
        );
        let config = Config::load(Some(&path), env(&[])).unwrap();
        assert_eq!(config.connectors.len(), 2);
        let ConnectorConfig::Webhook(hook) = &config.connectors[1] else {
            panic!("{:?}", config.connectors[1]);
        };
        assert_eq!(
            (hook.name.as_str(), hook.id_pointer.as_str()),
            ("byg", "/id")
        );
        let shown = format!("{config:?}");
        for secret in ["hunter2", "t0ken", "k3y", "pa55"] {
            assert!(!shown.contains(secret), "{secret} printed: {shown}");
        }

        for (text, expected) in [
            (
                "[[connectors]]\nname = \"archive\"\nkind = \"archive\"\nroot = \"x\"\n",
                "taken",
            ),
            ("[[connectors]]\nname = \"a\"\nkind = \"ftp\"\n", "ftp"),
            (
                "[[connectors]]\nname = \"a\"\nkind = \"webdav\"\nurl = \"u\"\nurll = \"u\"\n",
                "urll",
            ),
            (
                "[[connectors]]\nname = \"a\"\nkind = \"webhook\"\n",
                "url is required",
            ),
            (
                "[[connectors]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"u\"\nid_pointer = \"id\"\n",
                "id_pointer",
            ),
            (
                "[[connectors]]\nname = \"a\"\nkind = \"mailin\"\nto = \"journal\"\nfrom = \"j@x\"\nhost = \"h\"\n",
                "mail addresses",
            ),
            (
                "[[connectors]]\nname = \"a\"\nkind = \"mailin\"\nto = \"j@x\"\nfrom = \"j@x\"\nhost = \"h\"\ntls = \"ssl\"\n",
                "ssl",
            ),
            (
                "[[connectors]]\nname = \"a\"\nkind = \"sharepoint\"\nsite = \"s\"\nlibrary = \"l\"\n\
                 tenant_id = \"t\"\nclient_id = \"c\"\nclient_secret = \"x\"\nclient_cert_file = \"a.crt\"\n",
                "not both",
            ),
            (
                "[[connectors]]\nname = \"a\"\nkind = \"sharepoint\"\nsite = \"s\"\nlibrary = \"l\"\n\
                 tenant_id = \"t\"\nclient_id = \"c\"\nclient_cert_file = \"a.crt\"\n",
                "together",
            ),
            (
                "[[connectors]]\nname = \"a\"\nkind = \"f2\"\nurl = \"u\"\ntoken_url = \"t\"\nclient_id = \"c\"\n\
                 username = \"journaliser\"\n",
                "together",
            ),
        ] {
            write(text);
            let err = Config::load(Some(&path), env(&[])).unwrap_err();
            assert!(err.to_string().contains(expected), "{text}: {err}");
        }
    }

    /// The sample's commented `[[connectors]]` and `[[mailboxes]]` examples work once
    /// uncommented.
    #[test]
    fn the_sample_connectors_are_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("journaliser.example.toml");
        let sample = std::fs::read_to_string(path).unwrap();
        let code = regex::Regex::new(
            r"^# (\[\[connectors\]\]|\[\[mailboxes\]\]|\[mailboxes\.(autofile|entra)\]|[a-z_0-9]+ = |\s)",
        )
        .unwrap();
        let uncommented: String = sample
            .lines()
            .filter(|line| code.is_match(line))
            .map(|line| format!("{}\n", &line[2..]))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("journaliser.toml");
        std::fs::write(&file, &uncommented).unwrap();
        let config = Config::load(Some(&file), env(&[])).unwrap();
        let names: Vec<_> = config
            .connectors
            .iter()
            .map(ConnectorConfig::name)
            .collect();
        assert_eq!(
            names,
            [
                "overfoersel",
                "dokumenter",
                "byggesag",
                "journalpostkasse",
                "sager",
                "f2"
            ],
            "{uncommented}"
        );
        let mailboxes: Vec<_> = config.mailboxes.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(mailboxes, ["byg", "borgerservice"], "{uncommented}");
        assert_eq!(config.mailboxes[1].protocol, MailboxProtocol::Graph);
        assert_eq!(
            config
                .autofile
                .with(&config.mailboxes[0].autofile)
                .confidence_threshold,
            Some(0.99)
        );
        let connectors = crate::connector::Connectors::from_config(&config).unwrap();
        assert_eq!(connectors.names().count(), 7);
    }

    #[test]
    fn connectors_can_come_from_the_environment() {
        let config = Config::load(
            Some(Path::new("/dev/null")),
            env(&[(
                "JOURNALISER_CONNECTORS",
                r#"[{name = "byg", kind = "webhook", url = "http://byg.example/journal"}]"#,
            )]),
        )
        .unwrap();
        assert_eq!(config.connectors[0].name(), "byg");
    }

    #[test]
    fn secrets_do_not_print() {
        let secret = Secret("hunter2".into());
        assert_eq!(format!("{secret:?}"), "\"[redacted]\"");
    }
}
