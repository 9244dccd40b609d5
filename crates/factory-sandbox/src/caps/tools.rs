//! `factory:plugin/tools`: calling other installed tools. Only granted tools
//! (`--tool NAME`); the callee runs in its own fresh instance with its policy
//! narrowed by the caller's (`Policy::narrowed_by`), within the caller's
//! remaining deadline, at most [`MAX_DEPTH`] calls deep.

use crate::bindings::ErrorCode;
use crate::bindings::imports::factory::plugin::tools::{Host, ToolInfo};
use crate::call::CallInfo;
use crate::caps::CapError;
use crate::sandbox::SandboxInner;
use crate::state::InstanceState;
use crate::trust::CapabilityKind;
use crate::{InvokeError, Outcome, Sandbox, ToolFailure};
use std::sync::{Arc, Weak};
use wasmtime::component::{HasSelf, Linker};

pub const MAX_DEPTH: u32 = 4;

/// Per-instance state.
pub struct ToolsState {
    pub call: Arc<CallInfo>,
    pub(crate) sandbox: Weak<SandboxInner>,
}

impl Host for ToolsState {
    async fn available(&mut self) -> wasmtime::Result<Vec<ToolInfo>> {
        let Some(sandbox) = self.sandbox.upgrade() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for name in &self.call.policy.tools {
            if let Some(p) = sandbox.hooks.components.describe(name) {
                out.push(ToolInfo {
                    name: p.name,
                    description: p.description,
                    input_schema: p.input_schema,
                });
            }
        }
        Ok(out)
    }

    async fn call(&mut self, name: String, input: String) -> Result<String, CapError> {
        if !self.call.policy.tools.contains(&name) {
            return Err(ErrorCode::Denied(self.call.deny(
                CapabilityKind::Tool,
                &format!("call {name}"),
                "tool not granted",
                Some(&format!("--tool {name}")),
            ))
            .into());
        }
        if self.call.depth + 1 > MAX_DEPTH {
            let msg = format!("call {name}: tool calls nest at most {MAX_DEPTH} deep");
            self.call.event("limit", "tool", msg.clone());
            return Err(ErrorCode::LimitExceeded(msg).into());
        }
        let Some(inner) = self.sandbox.upgrade() else {
            return Err(ErrorCode::Failed("host is shutting down".into()).into());
        };
        let sandbox = Sandbox { inner };
        let call = self.call.clone();
        let result = Box::pin(sandbox.invoke_nested(&name, &input, &call)).await;
        let result = match result {
            Err(e) => Err(match e {
                InvokeError::UnknownPlugin(_) => ErrorCode::NotFound(e.to_string()),
                other => ErrorCode::Failed(other.to_string()),
            }),
            Ok(inv) => match inv.outcome {
                Outcome::Ok(s) => Ok(s),
                Outcome::ToolError(e) => Err(match e {
                    ToolFailure::InvalidInput(m) => ErrorCode::InvalidInput(m),
                    ToolFailure::Denied(m) => ErrorCode::Denied(m),
                    ToolFailure::Failed(m) => ErrorCode::Failed(m),
                }),
                Outcome::Limit(kind, m) => {
                    Err(ErrorCode::LimitExceeded(format!("{name}: {kind}: {m}")))
                }
            },
        };
        Ok(result?)
    }
}

pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    crate::bindings::imports::factory::plugin::tools::add_to_linker::<_, HasSelf<ToolsState>>(
        linker,
        |s| &mut s.tools,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::AsGuestSees;
    use crate::grants::Grant;
    use crate::hooks::MemoryEvents;
    use crate::trust::TrustLevel;

    /// Tools state with no sandbox behind it: whatever the grant check and
    /// the depth limit let through fails as "shutting down", so each test
    /// sees exactly which check answered.
    fn state(grants: &[Grant], depth: u32) -> (ToolsState, Arc<MemoryEvents>) {
        let events = Arc::new(MemoryEvents::default());
        let mut call = CallInfo::for_test("p", TrustLevel::AutoMerge, grants, events.clone());
        Arc::get_mut(&mut call).unwrap().depth = depth;
        let state = ToolsState {
            call,
            sandbox: Weak::new(),
        };
        (state, events)
    }

    #[tokio::test]
    async fn an_ungranted_tool_is_denied_first_with_the_grant_that_allows_it() {
        let (mut t, events) = state(&[], 0);
        let e = t
            .call("read-file".into(), "{}".into())
            .await
            .guest()
            .unwrap_err();
        assert!(
            matches!(&e, ErrorCode::Denied(m) if m.contains("--tool read-file")),
            "{e:?}"
        );
        let d = events.events();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].kind, "denial");
        assert_eq!(d[0].target, "call read-file");
        // Even past the depth limit, a missing grant is what is reported.
        let (mut t, _) = state(&[], MAX_DEPTH);
        let e = t.call("x".into(), "{}".into()).await.guest().unwrap_err();
        assert!(matches!(e, ErrorCode::Denied(_)), "{e:?}");
    }

    #[tokio::test]
    async fn calls_nest_at_most_max_depth_deep() {
        let (mut t, events) = state(&[Grant::tool("read-file").unwrap()], MAX_DEPTH);
        let e = t
            .call("read-file".into(), "{}".into())
            .await
            .guest()
            .unwrap_err();
        assert!(
            matches!(&e, ErrorCode::LimitExceeded(m) if m.contains("nest at most")),
            "{e:?}"
        );
        assert_eq!(events.events()[0].kind, "limit");
        // One level less passes both checks (and finds no sandbox here).
        let (mut t, _) = state(&[Grant::tool("read-file").unwrap()], MAX_DEPTH - 1);
        let e = t
            .call("read-file".into(), "{}".into())
            .await
            .guest()
            .unwrap_err();
        assert!(
            matches!(&e, ErrorCode::Failed(m) if m.contains("shutting down")),
            "{e:?}"
        );
        // Nothing is listed without a sandbox to ask.
        assert!(t.available().await.unwrap().is_empty());
    }
}
