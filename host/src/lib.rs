//! factory's host: loads tools and agent roles as WebAssembly components and
//! runs each call in a fresh sandboxed instance holding only what its trust
//! level and grants allow. See the README for the CLI and the trust ladder.

pub mod builtins;
pub mod guest;
pub mod scaffold;

// The crates below, under the paths the CLI and the run use
// (`crate::trust`, `crate::caps`, `crate::registry`, …).
pub use factory_models as models;
pub use factory_orchestrator::{self as orchestrator, budget};
pub use factory_policy::{compiled as policy, grants, trust};
pub use factory_sandbox::{bindings, caps, engine};
pub use factory_store::{db, home, journal, kv, registry, runtime};

pub use home::Home;
pub use runtime::{
    CallOptions, Host, HostOptions, Invocation, InvokeError, LimitKind, Outcome, ToolFailure,
};
pub use trust::TrustLevel;
