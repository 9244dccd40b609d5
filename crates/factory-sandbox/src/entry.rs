//! The entry points of the three component worlds, called the same way:
//! a tool's `invoke`, a role's `run`, an intake adapter's `detect` and
//! `parse`. Each returns JSON text or the component's own error.

use crate::bindings::{intake, role, tool};
use crate::outcome::ToolFailure;
use crate::plugin::Pre;
use crate::state::InstanceState;
use wasmtime::Store;

/// Which export to call, with its arguments.
#[derive(Clone, Copy, Debug)]
pub enum Entry<'a> {
    Tool(&'a str),
    Role(&'a str),
    Detect(&'a str),
    Parse { input: &'a str, source: &'a str },
}

impl<'a> Entry<'a> {
    pub fn input(&self) -> &'a str {
        match *self {
            Entry::Tool(i) | Entry::Role(i) | Entry::Detect(i) => i,
            Entry::Parse { input, .. } => input,
        }
    }
}

fn from_tool(e: tool::exports::factory::plugin::tool::ToolError) -> ToolFailure {
    use tool::exports::factory::plugin::tool::ToolError as E;
    match e {
        E::InvalidInput(m) => ToolFailure::InvalidInput(m),
        E::Denied(m) => ToolFailure::Denied(m),
        E::Failed(m) => ToolFailure::Failed(m),
    }
}

fn from_role(e: role::exports::factory::plugin::role::RoleError) -> ToolFailure {
    use role::exports::factory::plugin::role::RoleError as E;
    match e {
        E::InvalidInput(m) => ToolFailure::InvalidInput(m),
        E::Denied(m) => ToolFailure::Denied(m),
        E::Failed(m) => ToolFailure::Failed(m),
    }
}

fn from_intake(e: intake::exports::factory::plugin::intake::IntakeError) -> ToolFailure {
    use intake::exports::factory::plugin::intake::IntakeError as E;
    match e {
        E::InvalidInput(m) => ToolFailure::InvalidInput(m),
        E::Failed(m) => ToolFailure::Failed(m),
    }
}

/// Instantiate and call. Err is a trap; Ok(Err) the component's error.
pub async fn call(
    pre: &Pre,
    store: &mut Store<InstanceState>,
    entry: Entry<'_>,
) -> wasmtime::Result<Result<String, ToolFailure>> {
    let mismatch = |world: &str| {
        Err(wasmtime::Error::msg(format!(
            "host bug: {entry:?} called on a {world} component"
        )))
    };
    match (pre, entry) {
        (Pre::Tool(pre), Entry::Tool(input)) => {
            let inst = pre.instantiate_async(&mut *store).await?;
            let r = inst
                .factory_plugin_tool()
                .call_invoke(&mut *store, input)
                .await?;
            Ok(r.map_err(from_tool))
        }
        (Pre::Role(pre), Entry::Role(input)) => {
            let inst = pre.instantiate_async(&mut *store).await?;
            let r = inst
                .factory_plugin_role()
                .call_run(&mut *store, input)
                .await?;
            Ok(r.map_err(from_role))
        }
        (Pre::Intake(pre), Entry::Detect(input)) => {
            let inst = pre.instantiate_async(&mut *store).await?;
            let n = inst
                .factory_plugin_intake()
                .call_detect(&mut *store, input)
                .await?;
            Ok(Ok(n.min(100).to_string()))
        }
        (Pre::Intake(pre), Entry::Parse { input, source }) => {
            let inst = pre.instantiate_async(&mut *store).await?;
            let r = inst
                .factory_plugin_intake()
                .call_parse(&mut *store, input, source)
                .await?;
            Ok(r.map_err(from_intake))
        }
        (Pre::Tool(_), _) => mismatch("tool"),
        (Pre::Role(_), _) => mismatch("role"),
        (Pre::Intake(_), _) => mismatch("intake"),
    }
}
