//! One invocation: a fresh store and instance with the plugin's policy,
//! bounded by a deadline (epoch trap for guest code, a timeout around the
//! whole call for time spent blocked in host calls), a memory cap, output
//! caps and a result cap; then one journal record.

use super::call::{CallInfo, new_call_id};
use super::entry::Entry;
use super::loader::{Loaded, Pre};
use super::state::{InstanceState, Limiter, MAX_RESOURCES};
use super::{HostInner, InvokeError};
use crate::caps;
use crate::journal::InvocationRecord;
use crate::policy::Policy;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::ResourceTable;
use wasmtime::{Store, Trap};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi_http::WasiHttpCtx;

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

impl HostInner {
    pub(crate) async fn invoke_top(
        self: &Arc<Self>,
        name: &str,
        input: &str,
        opts: CallOptions,
    ) -> Result<Invocation, InvokeError> {
        let loaded = self.load(name)?;
        let Pre::Tool(_) = &loaded.compiled.pre else {
            return Err(InvokeError::WrongWorld(
                name.to_string(),
                loaded.record.world.noun(),
            ));
        };
        let policy = loaded.policy.clone();
        Ok(self
            .run(
                &loaded,
                policy,
                Entry::Tool(input),
                None,
                opts.timeout,
                None,
            )
            .await)
    }

    /// A tool called by another tool: narrowed policy, caller's deadline.
    pub(crate) async fn invoke_nested(
        self: &Arc<Self>,
        name: &str,
        input: &str,
        caller: &CallInfo,
    ) -> Result<Invocation, InvokeError> {
        let loaded = self.load(name)?;
        let Pre::Tool(_) = &loaded.compiled.pre else {
            return Err(InvokeError::WrongWorld(
                name.to_string(),
                loaded.record.world.noun(),
            ));
        };
        // A tool called by a role step acts for it, with the step's grants;
        // one called by another tool keeps its own, narrowed by the caller's.
        let policy = Arc::new(match &caller.scope {
            Some(_) => {
                let p = caller.policy.delegated_to(
                    &loaded.record.name,
                    loaded.record.trust,
                    &loaded.record.limits,
                );
                for c in &p.cut {
                    let kind = if c.narrowed_to.is_some() {
                        "narrowed"
                    } else {
                        "cut"
                    };
                    caller.event(
                        kind,
                        "tool",
                        format!("{name} acting for {}: {}", caller.plugin, c.describe()),
                    );
                }
                p
            }
            None => loaded.policy.narrowed_by(&caller.policy),
        });
        Ok(self
            .run(
                &loaded,
                policy,
                Entry::Tool(input),
                Some(caller),
                Some(caller.remaining()),
                caller.scope.clone(),
            )
            .await)
    }

    /// A store for a throwaway instance with no grants (install's `describe`).
    pub(crate) fn bare_store(
        self: &Arc<Self>,
        label: &str,
    ) -> (Store<InstanceState>, MemoryOutputPipe, MemoryOutputPipe) {
        let budget = Duration::from_secs(10);
        let policy = crate::policy::compile(
            label,
            crate::trust::TrustLevel::Untrusted,
            &[],
            &Default::default(),
        );
        let call = Arc::new(CallInfo {
            call_id: new_call_id(),
            parent_call: None,
            plugin: label.to_string(),
            policy: Arc::new(policy),
            journal: self.journal.clone(),
            deadline: Instant::now() + budget,
            depth: 0,
            scope: None,
        });
        self.store_for(&call, budget)
    }

    /// A fresh store whose WASI context and capabilities follow `call`'s policy.
    fn store_for(
        self: &Arc<Self>,
        call: &Arc<CallInfo>,
        budget: Duration,
    ) -> (Store<InstanceState>, MemoryOutputPipe, MemoryOutputPipe) {
        let limits = call.policy.limits;
        let cap = limits.max_output as usize;
        let stdout = MemoryOutputPipe::new(cap);
        let stderr = MemoryOutputPipe::new(cap);
        let mut b = WasiCtxBuilder::new();
        b.stdout(stdout.clone()).stderr(stderr.clone());
        caps::env::configure(&mut b, call);
        caps::fs::configure(&mut b, call);
        caps::net::sockets::configure(&mut b, call);
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_RESOURCES);
        let state = InstanceState {
            table,
            wasi: b.build(),
            http: WasiHttpCtx::new(),
            http_hooks: caps::net::http::HttpHooks { call: call.clone() },
            limiter: Limiter {
                max_memory: limits.memory.min(usize::MAX as u64) as usize,
                peak_memory: 0,
                memory_refused: false,
            },
            stdout: stdout.clone(),
            stderr: stderr.clone(),
            log: caps::log::LogState::new(call.clone()),
            kv: caps::kv::KvState {
                call: call.clone(),
                store: self.kv.clone(),
            },
            tools: caps::tools::ToolsState {
                call: call.clone(),
                host: Arc::downgrade(self),
            },
            exec: caps::exec::ExecState { call: call.clone() },
            model: caps::model::ModelState {
                call: call.clone(),
                router: self.models.clone(),
                seq: Default::default(),
            },
            fs: caps::fs::FsState::new(self.empty_root.clone()),
            call: call.clone(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(crate::engine::ticks(budget));
        store.epoch_deadline_trap();
        (store, stdout, stderr)
    }

    pub(crate) async fn run(
        self: &Arc<Self>,
        loaded: &Loaded,
        policy: Arc<Policy>,
        entry: Entry<'_>,
        parent: Option<&CallInfo>,
        timeout: Option<Duration>,
        scope: Option<Arc<crate::budget::RunScope>>,
    ) -> Invocation {
        let input = entry.input();
        let started = Instant::now();
        let limits = policy.limits;
        let budget = timeout.map_or(limits.deadline, |t| t.min(limits.deadline));
        let call = Arc::new(CallInfo {
            call_id: new_call_id(),
            parent_call: parent.map(|p| p.call_id.clone()),
            plugin: loaded.record.name.clone(),
            policy,
            journal: self.journal.clone(),
            deadline: started + budget,
            depth: parent.map_or(0, |p| p.depth + 1),
            scope,
        });

        let cap = limits.max_output as usize;
        let (mut store, stdout, stderr) = self.store_for(&call, budget);

        let (result, first_yield) = super::cpu::watch(tokio::time::timeout(
            budget,
            super::entry::call(&loaded.compiled.pre, &mut store, entry),
        ))
        .await;

        let data = store.data();
        data.log.finish();
        let full = |p: &MemoryOutputPipe| p.contents().len() >= cap;
        let outcome = match result {
            Err(_elapsed) => Outcome::Limit(
                LimitKind::Deadline,
                format!("deadline of {budget:?} passed"),
            ),
            Ok(Ok(Ok(s))) if s.len() as u64 > limits.max_result => Outcome::Limit(
                LimitKind::ResultCap,
                format!(
                    "result of {} bytes exceeds the cap of {} bytes",
                    s.len(),
                    limits.max_result
                ),
            ),
            Ok(Ok(Ok(s))) => Outcome::Ok(s),
            Ok(Ok(Err(e))) => Outcome::ToolError(e),
            Ok(Err(e)) => {
                let trap = e.chain().find_map(|c| c.downcast_ref::<Trap>()).copied();
                if trap == Some(Trap::Interrupt) {
                    Outcome::Limit(
                        LimitKind::Deadline,
                        format!("deadline of {budget:?} passed"),
                    )
                } else if data.limiter.memory_refused {
                    Outcome::Limit(
                        LimitKind::Memory,
                        format!(
                            "memory limit of {} MiB reached ({e:#})",
                            limits.memory >> 20
                        ),
                    )
                } else if full(&data.stdout) || full(&data.stderr) {
                    Outcome::Limit(
                        LimitKind::OutputCap,
                        format!("output cap of {cap} bytes reached"),
                    )
                } else if trap == Some(Trap::StackOverflow) {
                    Outcome::Limit(LimitKind::Trap, "stack overflow".into())
                } else {
                    Outcome::Limit(LimitKind::Trap, format!("{e:#}"))
                }
            }
        };
        let peak_memory = data.limiter.peak_memory as u64;
        drop(store);

        let duration = started.elapsed();
        let cpu = super::cpu::since(started, first_yield);
        let stdout = stdout.contents().to_vec();
        let stderr = stderr.contents().to_vec();
        let (outcome_name, detail, output_bytes) = match &outcome {
            Outcome::Ok(s) => ("ok".to_string(), String::new(), s.len() as u64),
            Outcome::ToolError(f) => (
                "tool-error".to_string(),
                serde_json::to_string(f).unwrap_or_default(),
                0,
            ),
            Outcome::Limit(k, m) => (k.as_str().to_string(), m.clone(), 0),
        };
        self.journal.invocation(InvocationRecord {
            call_id: call.call_id.clone(),
            parent_call: call.parent_call.clone(),
            ts: crate::db::now_ms(),
            plugin: call.plugin.clone(),
            digest: loaded.record.digest.clone(),
            trust: call.policy.trust.number(),
            grants: if Arc::ptr_eq(&call.policy, &loaded.policy) {
                loaded.grants_json.clone()
            } else {
                serde_json::to_string(&super::loader::effective_flags(&call.policy))
                    .unwrap_or_default()
            },
            input_bytes: input.len() as u64,
            outcome: outcome_name,
            detail,
            output_bytes,
            duration_us: duration.as_micros() as u64,
            cpu_us: cpu.as_micros() as u64,
            peak_memory,
            stderr: String::from_utf8_lossy(&stderr[..stderr.len().min(4096)]).into_owned(),
            run_id: call.run_id(),
        });
        Invocation {
            call_id: call.call_id.clone(),
            plugin: call.plugin.clone(),
            outcome,
            duration,
            cpu,
            peak_memory,
            stdout,
            stderr,
        }
    }
}
