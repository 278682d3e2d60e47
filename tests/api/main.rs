//! Integration tests: the real service on a random port, spoken to over HTTP.

mod helpers;

mod access;
mod entra;
mod flow;
mod health;
mod items;
mod restart;
mod retry;
