//! factory's stores: the home directory's layout, the SQLite database, the
//! journal of every call and event, the plugin registry, the key-value
//! capability's table, and [`Host`]: the sandbox embedded with them (its
//! hooks served by the registry, the journal and the database).

pub mod builtins;
pub mod db;
pub mod home;
pub mod journal;
pub mod kv;
pub mod registry;
pub mod runtime;

// The crates below, under the paths this crate's modules use.
pub use factory_policy::{compiled as policy, grants, trust};
pub use factory_sandbox::{bindings, caps, engine};

pub use home::Home;
pub use runtime::{
    CallOptions, Host, HostError, HostOptions, Invocation, InvokeError, LimitKind, Outcome,
    ToolFailure,
};
pub use trust::TrustLevel;
