//! Integration tests: the real service on a random port, spoken to over HTTP.

mod helpers;
mod process;

mod access;
mod addin;
mod audit;
mod autofile;
mod backup;
mod bench;
mod browser;
mod changes;
mod console;
mod entra;
mod flow;
mod health;
mod intents;
mod items;
mod limits;
mod newcase;
mod newcase_restart;
mod privacy;
mod restart;
mod retention;
mod retry;
mod stats;
mod sync;
mod threads;
mod tls;
mod versions;

mod connectors;
mod contract;
mod f2;
mod f2_standin;
mod faults;
mod graph_mail;
mod graph_mailboxes;
mod graph_standin;
mod mailboxes;
mod mailin;
mod mailserver;
mod mtls;
mod postgres;
mod receiver;
mod sharepoint;
mod wsgidav;
