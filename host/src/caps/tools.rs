//! `factory:plugin/tools`: calling other installed tools. Only granted tools
//! (`--tool NAME`); the callee runs in its own fresh instance with its policy
//! narrowed by the caller's (`Policy::narrowed_by`), within the caller's
//! remaining deadline, at most [`MAX_DEPTH`] calls deep.

use crate::bindings::ErrorCode;
use crate::bindings::imports::factory::plugin::tools::{Host, ToolInfo};
use crate::runtime::call::CallInfo;
use crate::runtime::state::InstanceState;
use crate::runtime::{HostInner, Outcome};
use crate::trust::CapabilityKind;
use std::sync::{Arc, Weak};
use wasmtime::component::{HasSelf, Linker};

pub const MAX_DEPTH: u32 = 4;

/// Per-instance state.
pub struct ToolsState {
    pub call: Arc<CallInfo>,
    pub host: Weak<HostInner>,
}

impl Host for ToolsState {
    async fn available(&mut self) -> wasmtime::Result<Vec<ToolInfo>> {
        let Some(host) = self.host.upgrade() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for name in &self.call.policy.tools {
            if let Ok(Some(p)) = host.registry.get(name) {
                out.push(ToolInfo {
                    name: p.name,
                    description: p.description,
                    input_schema: p.input_schema,
                });
            }
        }
        Ok(out)
    }

    async fn call(
        &mut self,
        name: String,
        input: String,
    ) -> wasmtime::Result<Result<String, ErrorCode>> {
        if !self.call.policy.tools.contains(&name) {
            return Ok(Err(ErrorCode::Denied(self.call.deny(
                CapabilityKind::Tool,
                &format!("call {name}"),
                "tool not granted",
                Some(&format!("--tool {name}")),
            ))));
        }
        if self.call.depth + 1 > MAX_DEPTH {
            let msg = format!("call {name}: tool calls nest at most {MAX_DEPTH} deep");
            self.call.event("limit", "tool", msg.clone());
            return Ok(Err(ErrorCode::LimitExceeded(msg)));
        }
        let Some(host) = self.host.upgrade() else {
            return Ok(Err(ErrorCode::Failed("host is shutting down".into())));
        };
        let call = self.call.clone();
        let result = Box::pin(host.invoke_nested(&name, &input, &call)).await;
        Ok(match result {
            Err(e) => Err(match e {
                crate::runtime::InvokeError::UnknownPlugin(_) => ErrorCode::NotFound(e.to_string()),
                other => ErrorCode::Failed(other.to_string()),
            }),
            Ok(inv) => match inv.outcome {
                Outcome::Ok(s) => Ok(s),
                Outcome::ToolError(e) => Err(match e {
                    crate::runtime::ToolFailure::InvalidInput(m) => ErrorCode::InvalidInput(m),
                    crate::runtime::ToolFailure::Denied(m) => ErrorCode::Denied(m),
                    crate::runtime::ToolFailure::Failed(m) => ErrorCode::Failed(m),
                }),
                Outcome::Limit(kind, m) => {
                    Err(ErrorCode::LimitExceeded(format!("{name}: {kind}: {m}")))
                }
            },
        })
    }
}

pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    crate::bindings::imports::factory::plugin::tools::add_to_linker::<_, HasSelf<ToolsState>>(
        linker,
        |s| &mut s.tools,
    )
}
