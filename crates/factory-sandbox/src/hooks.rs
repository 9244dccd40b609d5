//! What an embedder adds to the sandbox, as traits with default methods
//! (the `WasiHttpHooks` pattern): where records go ([`Events`]), how a
//! plugin name becomes a loaded component ([`Components`]), where the
//! key-value capability keeps its data ([`KvBackend`]), and on whose
//! account a call runs ([`Account`]: budgets and write quotas).
//!
//! The defaults make a sandbox that journals nothing, knows no plugin by
//! name, keeps key-value data in memory and charges no one: enough to run
//! a component, and what the sandbox's own tests start from.

use crate::caps::quota::Quota;
use crate::plugin::{Loaded, PluginMeta};
use crate::records::{EventRecord, InvocationRecord, ModelCallRecord};
use crate::{InvokeError, Sandbox};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Where the sandbox's records go. Called on the calling thread, so an
/// implementation should only queue (the factory's journal sends each
/// record to a writer thread).
pub trait Events: Send + Sync {
    fn event(&self, e: EventRecord) {
        tracing::debug!(plugin = %e.plugin, kind = %e.kind, "{}", e.message);
    }
    fn invocation(&self, r: InvocationRecord) {
        tracing::debug!(plugin = %r.plugin, outcome = %r.outcome, "call {}", r.call_id);
    }
    fn model_call(&self, r: ModelCallRecord) {
        tracing::debug!(plugin = %r.plugin, model = %r.model, outcome = %r.outcome, "model call");
    }
}

/// Records go to `tracing` only.
pub struct NoEvents;
impl Events for NoEvents {}

/// Records kept in memory (for tests and short-lived embedders).
#[derive(Default)]
pub struct MemoryEvents {
    events: Mutex<Vec<EventRecord>>,
    invocations: Mutex<Vec<InvocationRecord>>,
    model_calls: Mutex<Vec<ModelCallRecord>>,
}

fn take<T: Clone>(m: &Mutex<Vec<T>>) -> Vec<T> {
    m.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

impl MemoryEvents {
    pub fn events(&self) -> Vec<EventRecord> {
        take(&self.events)
    }
    pub fn invocations(&self) -> Vec<InvocationRecord> {
        take(&self.invocations)
    }
    pub fn model_calls(&self) -> Vec<ModelCallRecord> {
        take(&self.model_calls)
    }
}

impl Events for MemoryEvents {
    fn event(&self, e: EventRecord) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(e);
    }
    fn invocation(&self, r: InvocationRecord) {
        self.invocations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(r);
    }
    fn model_call(&self, r: ModelCallRecord) {
        self.model_calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(r);
    }
}

/// Plugins by name: for top-level calls, tool-to-tool calls and
/// `tools.available`.
pub trait Components: Send + Sync {
    /// The plugin `name`, compiled for `sandbox` (see [`Sandbox::prepare`])
    /// with the policy its operator gave it.
    fn resolve(&self, sandbox: &Sandbox, name: &str) -> Result<Arc<Loaded>, InvokeError> {
        let _ = sandbox;
        Err(InvokeError::UnknownPlugin(name.to_string()))
    }
    /// What `name` says about itself, without compiling it.
    fn describe(&self, name: &str) -> Option<PluginMeta> {
        let _ = name;
        None
    }
}

/// Knows no plugin.
pub struct NoComponents;
impl Components for NoComponents {}

/// A key-value backend failed (not a guest error: the guest sees `failed`).
#[derive(Debug, thiserror::Error)]
#[error("key-value store: {0}")]
pub struct KvError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// The key-value capability's storage, one namespace per plugin. The
/// capability checks grants and limits; a backend only stores.
pub trait KvBackend: Send + Sync {
    fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, KvError>;
    /// How many keys and value bytes `plugin` holds, not counting `key`.
    fn usage_except(&self, plugin: &str, key: &str) -> Result<(u64, u64), KvError>;
    fn set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), KvError>;
    /// Whether the key existed.
    fn delete(&self, plugin: &str, key: &str) -> Result<bool, KvError>;
    /// Keys starting with `prefix`, sorted, at most `limit`.
    fn list(&self, plugin: &str, prefix: &str, limit: u32) -> Result<Vec<String>, KvError>;
}

/// Key-value data in memory, gone with the sandbox.
#[derive(Default)]
pub struct MemoryKv(Mutex<BTreeMap<(String, String), Vec<u8>>>);

impl MemoryKv {
    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Vec<u8>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl KvBackend for MemoryKv {
    fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.map().get(&(plugin.into(), key.into())).cloned())
    }
    fn usage_except(&self, plugin: &str, key: &str) -> Result<(u64, u64), KvError> {
        let map = self.map();
        let mine = map
            .iter()
            .filter(|((p, k), _)| p == plugin && k != key)
            .map(|(_, v)| v.len() as u64);
        Ok(mine.fold((0, 0), |(n, b), len| (n + 1, b + len)))
    }
    fn set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.map()
            .insert((plugin.into(), key.into()), value.to_vec());
        Ok(())
    }
    fn delete(&self, plugin: &str, key: &str) -> Result<bool, KvError> {
        Ok(self.map().remove(&(plugin.into(), key.into())).is_some())
    }
    fn list(&self, plugin: &str, prefix: &str, limit: u32) -> Result<Vec<String>, KvError> {
        Ok(self
            .map()
            .keys()
            .filter(|(p, k)| p == plugin && k.starts_with(prefix))
            .take(limit as usize)
            .map(|(_, k)| k.clone())
            .collect())
    }
}

/// Why a model call on an account was refused before it was sent.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// On whose account a call runs: for the factory, one step of a run. A
/// call made with an account acts for it: the tools it calls get its
/// grants (cut to their own trust), and it inherits the account.
pub trait Account: Send + Sync {
    /// The id the call's records are filed under (a run id).
    fn id(&self) -> &str;
    /// Finer labels for model-call records (the run's task and role).
    fn task(&self) -> Option<&str> {
        None
    }
    fn role(&self) -> Option<&str> {
        None
    }
    /// The conversation key of this account's model calls, and the number
    /// of the next one (for providers that record or replay).
    fn next_model_call(&self) -> (String, u32);
    /// May one more model call be sent?
    fn check_model_call(&self) -> Result<(), Refused> {
        Ok(())
    }
    /// A model call came back having used `tokens` and cost this much.
    fn charge_model_call(&self, tokens: u64, cost_micro_usd: u64) {
        let _ = (tokens, cost_micro_usd);
    }
    /// Refuse every later model call with `why`.
    fn halt(&self, why: String) {
        let _ = why;
    }
    /// What calls on this account may still write through the filesystem.
    fn write_quota(&self) -> Option<Arc<Quota>> {
        None
    }
}

/// An account with no budget and no quota: calls made for it act for it
/// (delegation), and its model calls are numbered in one conversation.
pub struct Unmetered {
    id: String,
    seq: std::sync::atomic::AtomicU32,
}

impl Unmetered {
    pub fn new(id: &str) -> Unmetered {
        Unmetered {
            id: id.to_string(),
            seq: Default::default(),
        }
    }
}

impl Account for Unmetered {
    fn id(&self) -> &str {
        &self.id
    }
    fn next_model_call(&self) -> (String, u32) {
        let n = self.seq.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        (self.id.clone(), n)
    }
}
