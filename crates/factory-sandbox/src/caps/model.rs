//! `factory:plugin/model`: language-model calls served by the host. The
//! provider credentials stay in the host; a guest names a model it was
//! granted (`--model NAME`, or `--model '*'`). Providers are registered on
//! the [`ModelRouter`]; with none configured, a granted call fails with
//! `not-found` naming the model.

use crate::bindings::ErrorCode;
use crate::bindings::imports::factory::plugin::model::{Host, Request, Response};
use crate::call::CallInfo;
use crate::caps::CapError;
use crate::records::ModelCallRecord;
use crate::state::InstanceState;
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
    async fn complete(&mut self, mut req: Request) -> Result<Response, CapError> {
        let granted = &self.call.policy.models;
        let model = match req
            .model
            .clone()
            .or_else(|| granted.iter().find(|m| *m != "*").cloned())
        {
            Some(m) => m,
            None => {
                return Err(ErrorCode::Denied(self.call.deny(
                    CapabilityKind::Model,
                    "(default model)",
                    "no model is granted",
                    Some("--model NAME"),
                ))
                .into());
            }
        };
        if !granted.iter().any(|g| *g == model || g == "*") {
            return Err(ErrorCode::Denied(self.call.deny(
                CapabilityKind::Model,
                &model,
                "model not granted",
                Some(&format!("--model {model}")),
            ))
            .into());
        }
        let Some(provider) = self.router.get(&model) else {
            return Err(ErrorCode::NotFound(format!(
                "no provider is configured for model `{model}`"
            ))
            .into());
        };
        let account = self.call.account.clone();
        let mut record = ModelCallRecord {
            ts: crate::records::now_ms(),
            call_id: self.call.call_id.clone(),
            run_id: account.as_ref().map(|a| a.id().to_string()),
            task_id: account.as_ref().and_then(|a| a.task().map(str::to_string)),
            role: account.as_ref().and_then(|a| a.role().map(str::to_string)),
            plugin: self.call.plugin.clone(),
            model: model.clone(),
            provider: provider.name().to_string(),
            ..Default::default()
        };
        // The account's budget is the host's: checked before the call is sent.
        if let Some(a) = &account
            && let Err(why) = a.check_model_call()
        {
            record.outcome = "budget".into();
            record.detail = why.to_string();
            self.call.events.model_call(record);
            self.call
                .event("limit", "model", format!("model call refused: {why}"));
            return Err(ErrorCode::LimitExceeded(why.to_string()).into());
        }
        let (stream, seq) = match &account {
            Some(a) => a.next_model_call(),
            None => (
                self.call.plugin.clone(),
                self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            ),
        };
        let ctx = ModelCtx {
            plugin: self.call.plugin.clone(),
            stream,
            seq,
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
                if let Some(a) = &account {
                    a.charge_model_call(
                        record.input_tokens + record.output_tokens,
                        record.cost_micro_usd,
                    );
                }
            }
            Err(e) => {
                record.outcome = "error".into();
                record.detail = format!("{e:?}");
                if let (Some(a), Some(why)) = (&account, provider.halted()) {
                    a.halt(why.clone());
                    self.call.event("halt", "model", why);
                }
            }
        }
        self.call.events.model_call(record);
        Ok(result?)
    }
}

pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    crate::bindings::imports::factory::plugin::model::add_to_linker::<_, HasSelf<ModelState>>(
        linker,
        |s| &mut s.model,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::imports::factory::plugin::model::{Message, Role, StopReason, Usage};
    use crate::caps::AsGuestSees;
    use crate::grants::Grant;
    use crate::hooks::{Account, MemoryEvents, Refused};
    use crate::trust::TrustLevel;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Answers every request with 10 + 5 tokens costing 7 µ$, or fails and
    /// asks for a halt.
    struct Echo {
        fail: bool,
        seen: Mutex<Vec<(String, String, u32)>>,
    }

    impl ModelProvider for Echo {
        fn name(&self) -> &str {
            "echo"
        }
        fn complete<'a>(
            &'a self,
            req: Request,
            ctx: &'a ModelCtx,
        ) -> Pin<Box<dyn Future<Output = Result<Response, ErrorCode>> + Send + 'a>> {
            Box::pin(async move {
                let model = req.model.clone().unwrap_or_default();
                self.seen
                    .lock()
                    .unwrap()
                    .push((model.clone(), ctx.stream.clone(), ctx.seq));
                if self.fail {
                    return Err(ErrorCode::Failed("recording does not match".into()));
                }
                Ok(Response {
                    model,
                    message: Message {
                        role: Role::Assistant,
                        content: "hi".into(),
                        tool_calls: Vec::new(),
                        tool_call_id: None,
                    },
                    stop_reason: StopReason::EndTurn,
                    usage: Usage {
                        input_tokens: 10,
                        output_tokens: 5,
                        cost_micro_usd: 7,
                    },
                })
            })
        }
        fn halted(&self) -> Option<String> {
            self.fail
                .then(|| "the replay no longer matches".to_string())
        }
    }

    /// An account that allows `allowed` calls and remembers what it was
    /// charged and told.
    #[derive(Default)]
    struct Ledger {
        allowed: u32,
        made: AtomicU32,
        charged: Mutex<Vec<(u64, u64)>>,
        halted: Mutex<Option<String>>,
    }

    impl Account for Ledger {
        fn id(&self) -> &str {
            "run-1"
        }
        fn role(&self) -> Option<&str> {
            Some("coder")
        }
        fn next_model_call(&self) -> (String, u32) {
            ("t/coder/1".into(), self.made.fetch_add(1, Ordering::SeqCst))
        }
        fn check_model_call(&self) -> Result<(), Refused> {
            if self.made.load(Ordering::SeqCst) >= self.allowed {
                return Err(Refused("the run's token budget exhausted".into()));
            }
            Ok(())
        }
        fn charge_model_call(&self, tokens: u64, cost: u64) {
            self.charged.lock().unwrap().push((tokens, cost));
        }
        fn halt(&self, why: String) {
            *self.halted.lock().unwrap() = Some(why);
        }
    }

    fn request(model: Option<&str>) -> Request {
        Request {
            model: model.map(str::to_string),
            messages: Vec::new(),
            tools: Vec::new(),
            max_tokens: None,
            temperature: None,
        }
    }

    fn state(
        grants: &[Grant],
        provider: Arc<Echo>,
        account: Option<Arc<Ledger>>,
    ) -> (ModelState, Arc<MemoryEvents>) {
        let events = Arc::new(MemoryEvents::default());
        let mut call = CallInfo::for_test("p", TrustLevel::AutoMerge, grants, events.clone());
        if let Some(a) = account {
            Arc::get_mut(&mut call).unwrap().account = Some(a);
        }
        let router = Arc::new(ModelRouter::default());
        router.register("small", provider);
        let state = ModelState {
            call,
            router,
            seq: Default::default(),
        };
        (state, events)
    }

    fn echo(fail: bool) -> Arc<Echo> {
        Arc::new(Echo {
            fail,
            seen: Default::default(),
        })
    }

    #[tokio::test]
    async fn only_a_granted_model_is_called_and_a_refusal_names_the_grant() {
        let provider = echo(false);
        let (mut m, events) = state(&[], provider.clone(), None);
        let e = m
            .complete(request(Some("small")))
            .await
            .guest()
            .unwrap_err();
        assert!(
            matches!(&e, ErrorCode::Denied(msg) if msg.contains("--model small")),
            "{e:?}"
        );
        let e = m.complete(request(None)).await.guest().unwrap_err();
        assert!(matches!(&e, ErrorCode::Denied(msg) if msg.contains("no model is granted")));
        assert!(
            provider.seen.lock().unwrap().is_empty(),
            "the provider was called"
        );
        let denials: Vec<_> = events
            .events()
            .into_iter()
            .filter(|e| e.kind == "denial")
            .collect();
        assert_eq!(denials.len(), 2, "{denials:?}");
        assert_eq!(denials[0].remedy, "`factory plugin grant p --model small`");

        // Granted: called, as the default model too, numbered per instance.
        let (mut m, events) = state(&[Grant::model("small").unwrap()], provider.clone(), None);
        let r = m.complete(request(None)).await.guest().unwrap();
        assert_eq!(r.model, "small");
        m.complete(request(Some("small"))).await.guest().unwrap();
        assert_eq!(
            provider.seen.lock().unwrap().as_slice(),
            [
                ("small".into(), "p".into(), 0),
                ("small".into(), "p".into(), 1)
            ]
        );
        let calls = events.model_calls();
        assert_eq!(calls.len(), 2);
        assert_eq!((calls[0].input_tokens, calls[0].output_tokens), (10, 5));
        assert_eq!(calls[0].provider, "echo");
        // A granted model no provider serves is `not-found`, not a denial.
        let (mut m, _) = state(&[Grant::model("*").unwrap()], provider, None);
        let e = m.complete(request(Some("big"))).await.guest().unwrap_err();
        assert!(
            matches!(&e, ErrorCode::NotFound(msg) if msg.contains("`big`")),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn the_account_is_checked_before_charged_after_and_halted_on_demand() {
        let provider = echo(false);
        let ledger = Arc::new(Ledger {
            allowed: 1,
            ..Default::default()
        });
        let (mut m, events) = state(
            &[Grant::model("small").unwrap()],
            provider.clone(),
            Some(ledger.clone()),
        );
        m.complete(request(None)).await.guest().unwrap();
        assert_eq!(ledger.charged.lock().unwrap().as_slice(), [(15, 7)]);
        assert_eq!(provider.seen.lock().unwrap()[0].1, "t/coder/1");
        // Over budget: refused before the provider sees it, and recorded.
        let e = m.complete(request(None)).await.guest().unwrap_err();
        assert!(matches!(&e, ErrorCode::LimitExceeded(msg) if msg.contains("budget")));
        assert_eq!(provider.seen.lock().unwrap().len(), 1);
        let calls = events.model_calls();
        assert_eq!(calls[1].outcome, "budget");
        assert_eq!(calls[1].run_id.as_deref(), Some("run-1"));
        assert_eq!(calls[1].role.as_deref(), Some("coder"));

        // A provider that must stop the run halts the account.
        let ledger = Arc::new(Ledger {
            allowed: 5,
            ..Default::default()
        });
        let (mut m, events) = state(
            &[Grant::model("small").unwrap()],
            echo(true),
            Some(ledger.clone()),
        );
        m.complete(request(None)).await.guest().unwrap_err();
        assert_eq!(
            ledger.halted.lock().unwrap().as_deref(),
            Some("the replay no longer matches")
        );
        assert!(ledger.charged.lock().unwrap().is_empty());
        assert!(events.events().iter().any(|e| e.kind == "halt"));
    }
}
