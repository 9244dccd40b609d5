//! `factory:plugin/model`: language-model calls served by the host. The
//! provider credentials stay in the host; a guest names a model it was
//! granted (`--model NAME`, or `--model '*'`). Providers are registered on
//! the [`ModelRouter`]; with none configured, a granted call fails with
//! `not-found` naming the model.

use crate::bindings::ErrorCode;
use crate::bindings::imports::factory::plugin::model::{Host, Request, Response};
use crate::runtime::call::CallInfo;
use crate::runtime::state::InstanceState;
use crate::trust::CapabilityKind;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use wasmtime::component::{HasSelf, Linker};

/// A backend serving one or more models.
pub trait ModelProvider: Send + Sync {
    /// Complete `req` (whose `model` is set). Errors are guest-visible.
    fn complete(
        &self,
        req: Request,
    ) -> Pin<Box<dyn Future<Output = Result<Response, ErrorCode>> + Send + '_>>;
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
        req.model = Some(model);
        let remaining = self.call.remaining();
        Ok(
            match tokio::time::timeout(remaining, provider.complete(req)).await {
                Ok(r) => r,
                Err(_) => Err(ErrorCode::LimitExceeded(
                    "model call outlived the deadline".into(),
                )),
            },
        )
    }
}

pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    crate::bindings::imports::factory::plugin::model::add_to_linker::<_, HasSelf<ModelState>>(
        linker,
        |s| &mut s.model,
    )
}
