//! `factory:plugin/model`: language-model calls served by the host. The
//! provider credentials stay in the host; a guest names a model it was
//! granted (`--model NAME`, or `--model '*'`). Providers are registered on
//! the [`ModelRouter`]; with none configured, a granted call fails with
//! `not-found` naming the model.

use crate::bindings::ErrorCode;
use crate::bindings::imports::factory::plugin::model::{Host, Request, Response};
use crate::journal::ModelCallRecord;
use crate::runtime::call::CallInfo;
use crate::runtime::state::InstanceState;
use crate::trust::CapabilityKind;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use wasmtime::component::{HasSelf, Linker};

/// Who is asking, for providers that replay or record by conversation.
#[derive(Clone, Debug)]
pub struct ModelCtx {
    pub plugin: String,
    /// The run step's conversation key (`TASK/ROLE/ATTEMPT`), or the
    /// plugin's name outside a run.
    pub stream: String,
    /// The number of this call within the stream, from 0.
    pub seq: u32,
}

/// A backend serving one or more models.
pub trait ModelProvider: Send + Sync {
    /// A short name for the journal: `openai`, `anthropic`, `replay`, ….
    fn name(&self) -> &str;
    /// Complete `req` (whose `model` is set). Errors are guest-visible, and
    /// must never contain a credential.
    fn complete<'a>(
        &'a self,
        req: Request,
        ctx: &'a ModelCtx,
    ) -> Pin<Box<dyn Future<Output = Result<Response, ErrorCode>> + Send + 'a>>;

    /// Why every run using this provider must stop (a strict replay that
    /// no longer matches), if it must. The host stops the run; a role
    /// that swallowed the error cannot carry on.
    fn halted(&self) -> Option<String> {
        None
    }
}

/// Config: which provider serves which model name.
#[derive(Default)]
pub struct ModelRouter {
    providers: RwLock<HashMap<String, Arc<dyn ModelProvider>>>,
}

impl ModelRouter {
    pub fn register(&self, model: &str, provider: Arc<dyn ModelProvider>) {
        if let Ok(mut p) = self.providers.write() {
            p.insert(model.to_string(), provider);
        }
    }

    fn get(&self, model: &str) -> Option<Arc<dyn ModelProvider>> {
        self.providers.read().ok()?.get(model).cloned()
    }
}

/// Per-instance state.
pub struct ModelState {
    pub call: Arc<CallInfo>,
    pub router: Arc<ModelRouter>,
    /// Model calls of this instance outside a run (the replay sequence).
    pub seq: std::sync::atomic::AtomicU32,
}

impl Host for ModelState {
    async fn complete(
        &mut self,
        mut req: Request,
    ) -> wasmtime::Result<Result<Response, ErrorCode>> {
        let granted = &self.call.policy.models;
        let model = match req
            .model
            .clone()
            .or_else(|| granted.iter().find(|m| *m != "*").cloned())
        {
            Some(m) => m,
            None => {
                return Ok(Err(ErrorCode::Denied(self.call.deny(
                    CapabilityKind::Model,
                    "(default model)",
                    "no model is granted",
                    Some("--model NAME"),
                ))));
            }
        };
        if !granted.iter().any(|g| *g == model || g == "*") {
            return Ok(Err(ErrorCode::Denied(self.call.deny(
                CapabilityKind::Model,
                &model,
                "model not granted",
                Some(&format!("--model {model}")),
            ))));
        }
        let Some(provider) = self.router.get(&model) else {
            return Ok(Err(ErrorCode::NotFound(format!(
                "no provider is configured for model `{model}`"
            ))));
        };
        let scope = self.call.scope.clone();
        let mut record = ModelCallRecord {
            ts: crate::db::now_ms(),
            call_id: self.call.call_id.clone(),
            run_id: scope.as_ref().map(|s| s.run_id.clone()),
            task_id: scope.as_ref().map(|s| s.task_id.clone()),
            role: scope.as_ref().map(|s| s.role.clone()),
            plugin: self.call.plugin.clone(),
            model: model.clone(),
            provider: provider.name().to_string(),
            ..Default::default()
        };
        // The run's budget is the host's: checked before the call is sent.
        if let Some(s) = &scope
            && let Err(why) = s.budget.check(&s.role)
        {
            record.outcome = "budget".into();
            record.detail = why.clone();
            self.call.journal.model_call(record);
            self.call
                .event("limit", "model", format!("model call refused: {why}"));
            return Ok(Err(ErrorCode::LimitExceeded(why)));
        }
        let ctx = ModelCtx {
            plugin: self.call.plugin.clone(),
            stream: scope
                .as_ref()
                .map_or(self.call.plugin.clone(), |s| s.stream()),
            seq: match &scope {
                Some(s) => s.next_seq(),
                None => self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            },
        };
        req.model = Some(model);
        let started = std::time::Instant::now();
        let remaining = self.call.remaining();
        let result = match tokio::time::timeout(remaining, provider.complete(req, &ctx)).await {
            Ok(r) => r,
            Err(_) => Err(ErrorCode::LimitExceeded(
                "model call outlived the deadline".into(),
            )),
        };
        record.latency_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(r) => {
                record.outcome = "ok".into();
                record.input_tokens = r.usage.input_tokens.into();
                record.output_tokens = r.usage.output_tokens.into();
                record.cost_micro_usd = r.usage.cost_micro_usd;
                if let Some(s) = &scope {
                    s.budget.charge(
                        &s.role,
                        record.input_tokens + record.output_tokens,
                        record.cost_micro_usd,
                    );
                }
            }
            Err(e) => {
                record.outcome = "error".into();
                record.detail = format!("{e:?}");
                if let (Some(s), Some(why)) = (&scope, provider.halted()) {
                    s.budget.halt(why.clone());
                    self.call.event("halt", "model", why);
                }
            }
        }
        self.call.journal.model_call(record);
        Ok(result)
    }
}

pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    crate::bindings::imports::factory::plugin::model::add_to_linker::<_, HasSelf<ModelState>>(
        linker,
        |s| &mut s.model,
    )
}
