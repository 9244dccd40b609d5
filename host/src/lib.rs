//! factory's host: loads tools and agent roles as WebAssembly components and
//! runs each call in a fresh sandboxed instance holding only what its trust
//! level and grants allow. See the README for the CLI and the trust ladder.

pub mod bindings;
pub mod budget;
pub mod builtins;
pub mod caps;
pub mod db;
pub mod engine;
pub mod guest;
pub mod home;
pub mod journal;
pub mod models;
pub mod orchestrator;
pub mod registry;
pub mod runtime;
pub mod scaffold;

// The policy crate under its old paths, so `crate::trust` and friends
// read as before.
pub use factory_policy::{compiled as policy, grants, trust};

pub use home::Home;
pub use runtime::{
    CallOptions, Host, HostOptions, Invocation, InvokeError, LimitKind, Outcome, ToolFailure,
};
pub use trust::TrustLevel;
