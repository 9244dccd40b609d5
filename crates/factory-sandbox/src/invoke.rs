//! One invocation: a fresh store and instance with the plugin's policy,
//! bounded by a deadline (epoch trap for guest code, a timeout around the
//! whole call for time spent blocked in host calls), a memory cap, output
//! caps and a result cap; then one journal record.

use crate::Sandbox;
use crate::call::{CallInfo, new_call_id};
use crate::caps;
use crate::entry::Entry;
use crate::hooks::Account;
use crate::outcome::{CallOptions, Invocation, InvokeError, LimitKind, Outcome};
use crate::plugin::{ComponentError, Loaded, Pre};
use crate::policy::Policy;
use crate::records::InvocationRecord;
use crate::state::{InstanceState, Limiter, MAX_RESOURCES};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::ResourceTable;
use wasmtime::{Store, Trap, UpdateDeadline};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi_http::WasiHttpCtx;

impl Sandbox {
    /// Call tool `name` (found by the [`crate::hooks::Components`] hook)
    /// with `input`, in a fresh instance under its own policy.
    pub async fn call_tool(
        &self,
        name: &str,
        input: &str,
        opts: CallOptions,
    ) -> Result<Invocation, InvokeError> {
        let loaded = self.resolve_tool(name)?;
        let policy = loaded.policy.clone();
        Ok(self
            .run(&loaded, policy, Entry::Tool(input), None, opts, None)
            .await)
    }

    /// Tool `name`, from the `Components` hook; anything else is refused.
    fn resolve_tool(&self, name: &str) -> Result<Arc<Loaded>, InvokeError> {
        let loaded = self.inner.hooks.components.resolve(self, name)?;
        match loaded.pre {
            Pre::Tool(_) => Ok(loaded),
            _ => Err(InvokeError::WrongWorld(
                name.to_string(),
                loaded.plugin.world.noun(),
            )),
        }
    }

    /// A tool called by another tool: narrowed policy, caller's deadline.
    pub(crate) async fn invoke_nested(
        &self,
        name: &str,
        input: &str,
        caller: &CallInfo,
    ) -> Result<Invocation, InvokeError> {
        let loaded = self.resolve_tool(name)?;
        // A tool called by a role step acts for it, with the step's grants;
        // one called by another tool keeps its own, narrowed by the caller's.
        let policy = Arc::new(match &caller.account {
            Some(_) => {
                let p = caller.policy.delegated_to(
                    &loaded.plugin.name,
                    loaded.plugin.trust,
                    &loaded.plugin.limits,
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
                CallOptions {
                    timeout: Some(caller.remaining()),
                    cancel: caller.cancel.clone(),
                    on_log: caller.on_log.clone(),
                    origin: None,
                },
                caller.account.clone(),
            )
            .await)
    }

    /// A store for a throwaway instance with no grants (install's `describe`).
    pub(crate) fn bare_store(
        &self,
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
            events: self.inner.hooks.events.clone(),
            deadline: Instant::now() + budget,
            depth: 0,
            account: None,
            cancel: None,
            on_log: None,
            denials: Default::default(),
        });
        self.store_for(&call, budget)
    }

    /// A fresh store whose WASI context and capabilities follow `call`'s policy.
    fn store_for(
        &self,
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
                store: self.inner.hooks.kv.clone(),
            },
            tools: caps::tools::ToolsState {
                call: call.clone(),
                sandbox: Arc::downgrade(&self.inner),
            },
            exec: caps::exec::ExecState { call: call.clone() },
            model: caps::model::ModelState {
                call: call.clone(),
                router: self.inner.hooks.models.clone(),
                seq: Default::default(),
            },
            fs: caps::fs::FsState::new(self.inner.empty_root.clone()),
            call: call.clone(),
        };
        let mut store = Store::new(&self.inner.engine, state);
        store.limiter(|s| &mut s.limiter);
        match &call.cancel {
            // One epoch deadline: the call's own.
            None => {
                store.set_epoch_deadline(crate::engine::ticks(budget));
                store.epoch_deadline_trap();
            }
            // A cancellable call checks in every CANCEL_CHECK: it ends if
            // cancelled or past its deadline, else yields to let the
            // other calls on this thread run, and goes on.
            Some(cancel) => {
                let cancel = cancel.clone();
                let deadline = call.deadline;
                let every = crate::engine::ticks(crate::engine::CANCEL_CHECK);
                let next = move || {
                    let left = deadline.saturating_duration_since(Instant::now());
                    every.min(crate::engine::ticks(left))
                };
                store.set_epoch_deadline(next());
                store.epoch_deadline_callback(move |_| {
                    if cancel.is_cancelled() || Instant::now() >= deadline {
                        return Err(Trap::Interrupt.into());
                    }
                    Ok(UpdateDeadline::Yield(next()))
                });
            }
        }
        (store, stdout, stderr)
    }

    /// Run `entry` of `loaded` in a fresh instance under `policy` (its own
    /// or one computed for this call), within `opts.timeout` if shorter
    /// than the policy's deadline, on `account` if any; then record the
    /// invocation. Every way the call can end is in the returned [`Outcome`].
    pub async fn run(
        &self,
        loaded: &Loaded,
        policy: Arc<Policy>,
        entry: Entry<'_>,
        parent: Option<&CallInfo>,
        opts: CallOptions,
        account: Option<Arc<dyn Account>>,
    ) -> Invocation {
        let input = entry.input();
        let started = Instant::now();
        let limits = policy.limits;
        let budget = opts
            .timeout
            .map_or(limits.deadline, |t| t.min(limits.deadline));
        let origin = opts.origin;
        let call = Arc::new(CallInfo {
            call_id: new_call_id(),
            parent_call: parent.map(|p| p.call_id.clone()),
            plugin: loaded.plugin.name.clone(),
            policy,
            events: self.inner.hooks.events.clone(),
            deadline: started + budget,
            depth: parent.map_or(0, |p| p.depth + 1),
            account,
            cancel: opts.cancel,
            on_log: opts.on_log,
            denials: parent.map(|p| p.denials.clone()).unwrap_or_default(),
        });

        let cap = limits.max_output as usize;
        let (mut store, stdout, stderr) = self.store_for(&call, budget);

        let work = tokio::time::timeout(budget, crate::entry::call(&loaded.pre, &mut store, entry));
        // Cancelled while waiting in a host call: the call is dropped there
        // (guest code itself is interrupted by the epoch callback). `None`:
        // cancelled.
        let cancel = call.cancel.clone();
        let (result, first_yield) = crate::cpu::watch(async move {
            match cancel {
                None => Some(work.await),
                Some(c) => tokio::select! {
                    biased;
                    r = work => Some(r),
                    _ = c.cancelled() => None,
                },
            }
        })
        .await;
        // However it ended, a cancelled call is reported as cancelled.
        let result = result.filter(|_| !call.cancel.as_ref().is_some_and(|c| c.is_cancelled()));

        let data = store.data();
        data.log.finish();
        let full = |p: &MemoryOutputPipe| p.contents().len() >= cap;
        let outcome = match result {
            None => Outcome::Limit(
                LimitKind::Cancelled,
                format!(
                    "cancelled by the caller after {} ms",
                    started.elapsed().as_millis()
                ),
            ),
            Some(Err(_elapsed)) => Outcome::Limit(
                LimitKind::Deadline,
                format!("deadline of {budget:?} passed"),
            ),
            Some(Ok(Ok(Ok(s)))) if s.len() as u64 > limits.max_result => Outcome::Limit(
                LimitKind::ResultCap,
                format!(
                    "result of {} bytes exceeds the cap of {} bytes",
                    s.len(),
                    limits.max_result
                ),
            ),
            Some(Ok(Ok(Ok(s)))) => Outcome::Ok(s),
            Some(Ok(Ok(Err(e)))) => Outcome::ToolError(e),
            Some(Ok(Err(e))) => {
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
        let cpu = crate::cpu::since(started, first_yield);
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
        self.inner.hooks.events.invocation(InvocationRecord {
            call_id: call.call_id.clone(),
            parent_call: call.parent_call.clone(),
            ts: crate::records::now_ms(),
            plugin: call.plugin.clone(),
            digest: loaded.plugin.digest.clone(),
            trust: call.policy.trust.number(),
            grants: if Arc::ptr_eq(&call.policy, &loaded.policy) {
                loaded.grants_json.clone()
            } else {
                serde_json::to_string(&crate::plugin::effective_flags(&call.policy))
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
            client: origin.as_ref().map(|o| o.client.clone()),
            request_id: origin.map(|o| o.request_id),
        });
        let denials = match parent {
            // A nested call's denials are its caller's to report.
            Some(_) => Vec::new(),
            None => std::mem::take(&mut *call.denials.lock().unwrap_or_else(|e| e.into_inner())),
        };
        Invocation {
            call_id: call.call_id.clone(),
            plugin: call.plugin.clone(),
            outcome,
            duration,
            cpu,
            peak_memory,
            stdout,
            stderr,
            denials,
        }
    }
}

/// Instantiate `pre` with no grants, check its exports' types against the
/// contract, and call `describe`: (name, description, input schema, kind).
pub(crate) async fn describe(
    sandbox: &Sandbox,
    pre: Pre,
    shown: &str,
) -> Result<(String, String, String, String), ComponentError> {
    use crate::bindings::{
        intake::IntakePluginIndices, role::RolePluginIndices, tool::ToolPluginIndices,
    };
    let incompatible =
        |e: wasmtime::Error| ComponentError::Incompatible(shown.into(), format!("{e:#}"));
    let failed = |e: wasmtime::Error| ComponentError::Describe(shown.into(), format!("{e:#}"));
    let (mut store, _, _) = sandbox.bare_store(&format!("{} (install)", pre.world().as_str()));
    // Instantiate, check the exports' types, call `describe`: the same
    // steps for each world, with its own bindings.
    macro_rules! describe {
        ($p:expr, $indices:ty, $iface:ident, |$info:ident| $out:expr) => {{
            let inst = $p
                .instance_pre()
                .instantiate_async(&mut store)
                .await
                .map_err(failed)?;
            let bound = <$indices>::new($p.instance_pre())
                .and_then(|ix| ix.load(&mut store, &inst))
                .map_err(incompatible)?;
            let $info = bound
                .$iface()
                .call_describe(&mut store)
                .await
                .map_err(failed)?;
            Ok($out)
        }};
    }
    match pre {
        Pre::Tool(p) => describe!(p, ToolPluginIndices, factory_plugin_tool, |i| (
            i.name,
            i.description,
            i.input_schema,
            String::new()
        )),
        Pre::Role(p) => describe!(p, RolePluginIndices, factory_plugin_role, |i| (
            i.name,
            i.description,
            String::new(),
            i.kind
        )),
        Pre::Intake(p) => describe!(p, IntakePluginIndices, factory_plugin_intake, |i| (
            i.name,
            i.description,
            String::new(),
            i.format
        )),
    }
}
