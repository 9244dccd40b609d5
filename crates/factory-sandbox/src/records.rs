//! What a sandbox reports about its calls: one record per finished
//! invocation, per model call and per event (a denial, a log line, a cut
//! grant). The embedder decides where they go ([`crate::hooks::Events`]).

use serde::Serialize;

/// Milliseconds since the Unix epoch: the records' timestamps.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// One finished invocation.
#[derive(Clone, Debug, Serialize)]
pub struct InvocationRecord {
    pub call_id: String,
    pub parent_call: Option<String>,
    pub ts: i64,
    pub plugin: String,
    pub digest: String,
    pub trust: u8,
    /// The effective grants in force (JSON array of flags).
    pub grants: String,
    pub input_bytes: u64,
    /// `ok`, `tool-error`, `deadline`, `memory`, `output-cap`, `result-cap`,
    /// `trap`, `cancelled`, `refused`.
    pub outcome: String,
    pub detail: String,
    pub output_bytes: u64,
    pub duration_us: u64,
    pub cpu_us: u64,
    pub peak_memory: u64,
    /// The start of the captured stderr (at most 4 KiB).
    pub stderr: String,
    /// The factory run this call served, if any.
    pub run_id: Option<String>,
    /// The protocol client that asked for the call (`name/version`), if it
    /// came through a protocol server (`factory mcp`).
    pub client: Option<String>,
    /// That client's id of the request.
    pub request_id: Option<String>,
}

/// One language-model call made through the host.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ModelCallRecord {
    pub ts: i64,
    pub call_id: String,
    pub run_id: Option<String>,
    pub task_id: Option<String>,
    pub role: Option<String>,
    pub plugin: String,
    pub model: String,
    pub provider: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_micro_usd: u64,
    pub latency_ms: u64,
    /// `ok`, `error`, `budget`.
    pub outcome: String,
    pub detail: String,
}

/// One event: a denial, a lifecycle change, a log line.
#[derive(Clone, Debug, Serialize)]
pub struct EventRecord {
    pub ts: i64,
    pub call_id: Option<String>,
    pub plugin: String,
    /// `denial`, `install`, `reinstall`, `remove`, `grant`, `revoke`,
    /// `trust`, `limits`, `log`, `cache`, `tamper`.
    pub kind: String,
    pub capability: String,
    pub target: String,
    pub message: String,
    /// For denials: what to grant to allow it.
    pub remedy: String,
    /// The factory run this event belongs to, if any.
    pub run_id: Option<String>,
}

impl EventRecord {
    pub fn new(plugin: &str, kind: &str, message: impl Into<String>) -> Self {
        EventRecord {
            ts: now_ms(),
            call_id: None,
            plugin: plugin.to_string(),
            kind: kind.to_string(),
            capability: String::new(),
            target: String::new(),
            message: message.into(),
            remedy: String::new(),
            run_id: None,
        }
    }
}
