//! Integration tests: the real service on a random port, spoken to over HTTP.

mod helpers;
mod process;

mod access;
mod addin;
mod audit;
mod backup;
mod browser;
mod entra;
mod flow;
mod health;
mod intents;
mod items;
mod privacy;
mod restart;
mod retention;
mod retry;
mod sync;
mod tls;
mod versions;

mod connectors;
mod contract;
mod faults;
mod mailin;
mod mailserver;
mod mtls;
mod postgres;
mod receiver;
mod wsgidav;
