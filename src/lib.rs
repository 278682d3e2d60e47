//! Journaliser files e-mails and documents into the right case of a records system.
//!
//! Read `ARCHITECTURE.md` first: it follows one mail from the Outlook click to the filed document.

/// HTTP edge: routes, extractors and the one mapping from errors to status codes.
pub mod api;
/// Who is calling: bearer tokens, users, admins and the groups that decide what they see.
pub mod auth;
/// Command-line interface: serve, token, import cases.
pub mod cli;
/// One typed configuration, read from defaults, `journaliser.toml` and `JOURNALISER_*` variables.
pub mod config;
/// The target systems a filing goes to, behind one `Connector` trait.
pub mod connector;
/// A small Danish demo organisation for trying the product on an empty store.
pub mod demo;
/// Validated value types shared by every module: identifiers, cases, items, filings.
pub mod domain;
/// Text, metadata and identifiers out of mails and documents.
pub mod extract;
/// The outbox of accepted filings and the worker that delivers them.
pub mod filing;
/// Loading cases from files and connectors into the store and index.
pub mod import;
/// Starting and stopping the service: store, index, worker, HTTP server.
pub mod server;
/// Durable state in SQL: cases, items, filings, feedback.
pub mod store;
/// Ranked case suggestions from the full-text index and rules.
pub mod suggest;
/// Logging and tracing set-up.
pub mod telemetry;
