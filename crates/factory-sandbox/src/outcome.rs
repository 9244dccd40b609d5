//! What a call comes back with: the result, the component's own error, or
//! the sandbox limit that ended it; and why a call could not start.

use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

pub use tokio_util::sync::CancellationToken;

/// Receives each log line a call writes, as it writes it: (level, line).
pub type LogSink = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// Per-call options.
#[derive(Clone, Default)]
pub struct CallOptions {
    /// A shorter deadline than the plugin's.
    pub timeout: Option<Duration>,
    /// Cancelling it ends the call: guest code is interrupted at its next
    /// epoch check (within [`crate::engine::CANCEL_CHECK`] plus one tick),
    /// a host call it waits in is dropped, and the call ends
    /// [`LimitKind::Cancelled`]. Tools it calls are cancelled with it.
    pub cancel: Option<CancellationToken>,
    /// Each log line of the call (and of the tools it calls), as written.
    pub on_log: Option<LogSink>,
    /// Who asked for the call, journaled with it.
    pub origin: Option<Origin>,
}

impl std::fmt::Debug for CallOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallOptions")
            .field("timeout", &self.timeout)
            .field("cancel", &self.cancel.is_some())
            .field("on_log", &self.on_log.is_some())
            .field("origin", &self.origin)
            .finish()
    }
}

/// The client a call came from, when it came through a protocol server
/// (`factory mcp`): recorded in the call's journal entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// The client's name and version, as it announced them (`name/version`).
    pub client: String,
    /// The protocol's id of the request.
    pub request_id: String,
}

/// Which sandbox limit ended a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LimitKind {
    Deadline,
    Memory,
    OutputCap,
    ResultCap,
    Trap,
    /// The caller cancelled the call.
    Cancelled,
}

impl LimitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::Deadline => "deadline",
            LimitKind::Memory => "memory",
            LimitKind::OutputCap => "output-cap",
            LimitKind::ResultCap => "result-cap",
            LimitKind::Trap => "trap",
            LimitKind::Cancelled => "cancelled",
        }
    }
}

impl std::fmt::Display for LimitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The component's own error (`tool-error`, `role-error` or `intake-error`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "message", rename_all = "kebab-case")]
pub enum ToolFailure {
    InvalidInput(String),
    Denied(String),
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The tool's JSON result.
    Ok(String),
    /// The tool returned an error.
    ToolError(ToolFailure),
    /// A sandbox limit ended the call; the instance was thrown away.
    Limit(LimitKind, String),
}

/// A finished invocation.
#[derive(Debug)]
pub struct Invocation {
    pub call_id: String,
    pub plugin: String,
    pub outcome: Outcome,
    pub duration: Duration,
    pub cpu: Duration,
    pub peak_memory: u64,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// What the sandbox refused the call (and the tools it called), each
    /// naming what to grant; also in the journal as denials.
    pub denials: Vec<String>,
}

impl Invocation {
    /// How a failed call is explained to whoever asked for it (the CLI's
    /// message, an MCP error result): the tool's own error or the limit
    /// that ended it, then what the sandbox refused and how to allow it.
    /// None for a call that succeeded.
    pub fn failure_text(&self) -> Option<String> {
        let mut text = match &self.outcome {
            Outcome::Ok(_) => return None,
            Outcome::ToolError(f) => format!("{} returned an error: {f}", self.plugin),
            Outcome::Limit(LimitKind::Cancelled, m) => {
                format!("{} was cancelled: {m}", self.plugin)
            }
            Outcome::Limit(kind, m) => {
                format!("{} stopped by the sandbox: {kind} limit: {m}", self.plugin)
            }
        };
        for d in &self.denials {
            text.push_str("\nthe sandbox refused: ");
            text.push_str(d);
        }
        Some(text)
    }
}

impl std::fmt::Display for ToolFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ToolFailure::InvalidInput(m) => write!(f, "invalid input: {m}"),
            ToolFailure::Denied(m) => write!(f, "denied: {m}"),
            ToolFailure::Failed(m) => write!(f, "failed: {m}"),
        }
    }
}

/// Why a call could not start (the plugin is not there, not of the world
/// asked for, or its stored files are not what was installed).
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("no plugin named `{0}` (see `factory plugin list`)")]
    UnknownPlugin(String),
    #[error("`{0}` is a {1}, not a tool")]
    WrongWorld(String, &'static str),
    #[error("`{name}` is a {found}, not a {expected}")]
    NotA {
        name: String,
        found: &'static str,
        expected: &'static str,
    },
    #[error(
        "refused: the stored component of `{name}` was modified after install ({path}: sha256 {found}, installed {expected}); reinstall it with `factory plugin install FILE --name {name} --force`"
    )]
    Tampered {
        name: String,
        path: String,
        expected: String,
        found: String,
    },
    #[error("cannot load `{0}`: {1}")]
    Load(String, String),
    /// The embedder's store of plugins failed.
    #[error(transparent)]
    Store(Box<dyn std::error::Error + Send + Sync>),
}
