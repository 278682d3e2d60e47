//! Journaliser files e-mails and documents into the right case of a records system.
//!
//! Read `ARCHITECTURE.md` first: it follows one mail from the Outlook click to the filed document.

/// HTTP edge: routes, extractors and the one mapping from errors to status codes.
pub mod api;
/// Who is calling: bearer tokens, users, admins and the groups that decide what they see.
pub mod auth;
/// Auto-journalisation: the one policy that files, queues for review or leaves each new item,
/// and the admins' routing rules and confidence thresholds it reads.
pub mod autofile;
/// A consistent copy of a running service's data directory, and bringing it back.
pub mod backup;
/// `journaliser bench`: a synthetic organisation at a given size, measured as users meet it.
pub mod bench;
/// Command-line interface: serve, token, import cases and documents, eval replay.
pub mod cli;
/// One typed configuration, read from defaults, `journaliser.toml` and `JOURNALISER_*` variables.
pub mod config;
/// The target systems a filing goes to, behind one `Connector` trait.
pub mod connector;
/// A small Danish demo organisation for trying the product on an empty store.
pub mod demo;
/// Validated value types shared by every module: identifiers, cases, items, filings.
pub mod domain;
/// Suggestion quality measured by replaying a labelled corpus through the real pipeline.
pub mod eval;
/// Text, metadata and identifiers out of mails and documents.
pub mod extract;
/// The outbox of accepted filings and the worker that delivers them.
pub mod filing;
/// Microsoft Graph as an app: the Entra ID app-only token, throttling, Graph's errors.
pub mod graph;
/// Loading cases from files and connectors into the store and index, and the documents already
/// on them.
pub mod import;
/// Receiving uploads: hash, de-duplicate, extract, store.
pub mod intake;
/// KL's classification of tasks (KLE): the organisation's subject plan and facets, with history.
pub mod kle;
/// Clients for mail servers that several rooms use: connections in plain text or TLS, IMAP.
pub(crate) mod mail;
/// Functional mailboxes the service watches: each new mail taken in, decided on, marked, moved.
pub mod mailboxes;
/// A new case when no suggestion fits: its proposed title, KLE subject, facet and parties.
pub mod newcase;
/// Telling systemd that the service is ready (`Type=notify`).
#[cfg(unix)]
pub mod notify;
/// Deleting what need not be kept: unfiled uploads, delivered originals.
pub mod retention;
/// Starting and stopping the service: store, index, worker, HTTP server.
pub mod server;
/// Durable state in SQL: cases, items, filings, feedback, the audit log.
pub mod store;
/// Ranked case suggestions from the full-text index and rules.
pub mod suggest;
/// Keeping the cases of every connector that can list them in the store and index.
pub mod sync;
/// Logging and tracing set-up.
pub mod telemetry;
/// HTTPS: the certificate, made for localhost or the operator's own, and the TLS listener.
pub mod tls;
/// The Office add-ins' pages, sign-in settings and manifests, and the headers that let Office
/// frame them.
pub mod web;

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// ARCHITECTURE.md is read first by newcomers: every source path it names must exist.
    #[test]
    fn architecture_names_only_paths_that_exist() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
        let path = regex::Regex::new(r"\b(?:[a-z_-]+/)+(?:[a-z_]+\.rs)?|\b[a-z_]+\.rs\b").unwrap();
        let files: Vec<String> = walk(&root.join("src"));
        let mut checked = 0;
        for found in path.find_iter(&text) {
            let name = found.as_str();
            let before = text[..found.start()].chars().next_back();
            // Parts of URLs (`/api/v1/items/`) and of paths outside the repository are not ours.
            if before.is_some_and(|c| c == '/' || c == '.' || c.is_alphanumeric())
                || name.contains("shared/")
            {
                continue;
            }
            let exists = root.join("src").join(name).exists()
                || root.join(name).exists()
                || (!name.contains('/') && files.iter().any(|f| f.ends_with(&format!("/{name}"))));
            assert!(exists, "ARCHITECTURE.md names {name}, which does not exist");
            checked += 1;
        }
        assert!(
            checked > 20,
            "only {checked} paths found: is the pattern right?"
        );
    }

    fn walk(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path.display().to_string());
            }
        }
        out
    }
}
