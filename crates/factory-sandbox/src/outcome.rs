//! What a call comes back with: the result, the component's own error, or
//! the sandbox limit that ended it; and why a call could not start.

use serde::Serialize;
use std::time::Duration;

/// Per-call options.
#[derive(Clone, Copy, Debug, Default)]
pub struct CallOptions {
    /// A shorter deadline than the plugin's.
    pub timeout: Option<Duration>,
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
}

impl LimitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::Deadline => "deadline",
            LimitKind::Memory => "memory",
            LimitKind::OutputCap => "output-cap",
            LimitKind::ResultCap => "result-cap",
            LimitKind::Trap => "trap",
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
