//! What every capability needs to know about the call it serves: the plugin,
//! its compiled policy, where records go, the deadline, the account. Denials are made here so
//! that each one is both a guest-visible message and a journal entry, with the
//! same text, naming what to grant.

use crate::hooks::{Account, Events};
use crate::outcome::{CancellationToken, LogSink};
use crate::policy::Policy;
use crate::records::EventRecord;
use crate::trust::CapabilityKind;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct CallInfo {
    pub call_id: String,
    pub parent_call: Option<String>,
    pub plugin: String,
    pub policy: Arc<Policy>,
    pub events: Arc<dyn Events>,
    pub deadline: Instant,
    /// 0 for a top-level call; each tool-to-tool call adds one.
    pub depth: u32,
    /// On whose account it runs (a run step; inherited by nested calls).
    pub account: Option<Arc<dyn Account>>,
    /// Cancels the call (inherited by nested calls).
    pub cancel: Option<CancellationToken>,
    /// Where its log lines go as they are written (inherited).
    pub on_log: Option<LogSink>,
    /// The denials of the top-level call and every call under it.
    pub denials: Arc<Mutex<Vec<String>>>,
}

impl CallInfo {
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Record and describe a denial. `grant` is the CLI flag that would allow
    /// it (e.g. `--read /src`), `Some("")` when the trust level alone
    /// decides, or None when nothing can allow it (e.g. a bind).
    pub fn deny(
        &self,
        kind: CapabilityKind,
        target: &str,
        why: &str,
        grant: Option<&str>,
    ) -> String {
        let plugin = &self.plugin;
        let remedy = match grant {
            None => "this is not grantable".to_string(),
            Some("") => format!(
                "`factory plugin trust {plugin} {}`",
                kind.min_level().name()
            ),
            Some(flag) if !self.policy.trust.ceiling().allows(kind) => format!(
                "`factory plugin trust {plugin} {}` then `factory plugin grant {plugin} {flag}`",
                kind.min_level().name()
            ),
            Some(flag) => format!("`factory plugin grant {plugin} {flag}`"),
        };
        let message =
            format!("{kind} denied for `{plugin}`: {target}: {why}; to allow it: {remedy}");
        tracing::info!(call = %self.call_id, "{message}");
        if let Ok(mut d) = self.denials.lock()
            && d.len() < MAX_DENIALS_KEPT
        {
            d.push(message.clone());
        }
        self.events.event(EventRecord {
            call_id: Some(self.call_id.clone()),
            capability: kind.to_string(),
            target: target.to_string(),
            remedy,
            run_id: self.run_id(),
            ..EventRecord::new(plugin, "denial", message.clone())
        });
        message
    }

    /// Record a non-denial event of this call (log lines, truncations).
    pub fn event(&self, kind: &str, capability: &str, message: String) {
        self.events.event(EventRecord {
            call_id: Some(self.call_id.clone()),
            capability: capability.to_string(),
            run_id: self.run_id(),
            ..EventRecord::new(&self.plugin, kind, message)
        });
    }

    /// The id of the account the call runs on (a run id), if any.
    pub fn run_id(&self) -> Option<String> {
        self.account.as_ref().map(|a| a.id().to_string())
    }
}

/// How many denial messages one call keeps for its caller (all are journaled).
const MAX_DENIALS_KEPT: usize = 16;

/// A new call id: unique within the journal, sortable by time.
pub fn new_call_id() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0);
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let pid = *PID.get_or_init(std::process::id); // a syscall: once
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("{now:x}-{pid:x}-{seq:x}")
}

#[cfg(test)]
impl CallInfo {
    /// A top-level call of `plugin` at `trust` with `grants`, recorded in
    /// `events`, for the capabilities' unit tests.
    pub fn for_test(
        plugin: &str,
        trust: crate::trust::TrustLevel,
        grants: &[crate::grants::Grant],
        events: Arc<dyn Events>,
    ) -> Arc<CallInfo> {
        Arc::new(CallInfo {
            call_id: format!("test-{plugin}"),
            parent_call: None,
            plugin: plugin.to_string(),
            policy: Arc::new(crate::policy::compile(
                plugin,
                trust,
                grants,
                &Default::default(),
            )),
            events,
            deadline: Instant::now() + Duration::from_secs(30),
            depth: 0,
            account: None,
            cancel: None,
            on_log: None,
            denials: Default::default(),
        })
    }
}
