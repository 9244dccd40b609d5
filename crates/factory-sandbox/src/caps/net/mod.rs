//! Network: outbound HTTP(S), raw TCP/UDP sockets and DNS lookups, all decided
//! by one policy ([`policy`]) over the plugin's `--net` grants.
//!
//! - `http`: the wasi-http `send_request` hook: checks the origin, resolves the
//!   host itself, refuses restricted addresses, and connects to the vetted
//!   address (so a DNS answer cannot change between check and connect).
//! - `sockets`: the wasi-sockets address check and a guard around
//!   `ip-name-lookup`.

pub mod http;
pub mod policy;
pub mod sockets;
