//! The factory loop's tests: model providers over HTTP, intake on
//! real-shaped inputs, runs end to end (feedback, blocked, resume, parallel
//! subtasks with a merge conflict, each trust level), gates, role abuse.

#[path = "../common.rs"]
mod common;
mod edges;
mod fx;
mod gates;
mod host_state;
mod hostile;
mod intake;
mod models;
mod progress;
mod realproject;
mod roles;
mod runs;
mod scripted;
mod server;
