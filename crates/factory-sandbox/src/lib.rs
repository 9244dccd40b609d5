//! factory's sandbox: runs WebAssembly components (tools, roles, intake
//! adapters) each call in a fresh instance that holds only what its
//! compiled policy grants, bounded in time, memory and output.
//!
//! It knows nothing of databases, registries or runs: an embedder (the
//! `factory` CLI, an MCP server, a worker) plugs those in through
//! [`hooks`]. See `docs/architecture.md` for where it sits.

pub mod bindings;
mod call;
pub mod caps;
mod cpu;
pub mod engine;
mod entry;
pub mod hooks;
mod invoke;
mod outcome;
pub mod plugin;
pub mod records;
mod sandbox;
pub mod schema;
pub mod state;

pub use factory_policy::{compiled as policy, grants, trust};

pub use call::{CallInfo, new_call_id};
pub use entry::Entry;
pub use hooks::{Account, Components, Events, KvBackend};
pub use outcome::{
    CallOptions, CancellationToken, Invocation, InvokeError, LimitKind, LogSink, Origin, Outcome,
    ToolFailure,
};
pub use plugin::{ComponentError, Inspected, Loaded, PluginMeta, Pre, World};
pub use sandbox::{Hooks, Sandbox, SandboxError, SandboxOptions};
