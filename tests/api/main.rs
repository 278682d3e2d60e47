//! Integration tests: the real service on a random port, spoken to over HTTP.

mod helpers;
mod process;

mod access;
mod audit;
mod entra;
mod flow;
mod health;
mod items;
mod privacy;
mod restart;
mod retention;
mod retry;

mod connectors;
mod contract;
mod receiver;
mod wsgidav;
