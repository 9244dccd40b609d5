//! `factory role call`: one step of a role plugin, outside a run, with the
//! grants installed for it (for role authors testing their plugin).

use super::tool::{CallArgs, print_outcome, read_input, read_timeout};
use super::{Failure, fail, open_host};
use clap::Subcommand;
use factory_host::policy::LimitOverrides;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum RoleCommand {
    /// Run one step of a role plugin in a fresh sandboxed instance, with the
    /// grants given to it by `factory plugin grant`, and print its JSON
    /// output (errors and limits print as for `factory tool call`). No model
    /// is configured outside a run: a model call fails with `not-found`.
    /// The step's input schema per role kind is in docs/roles.md.
    Call(CallArgs),
}

pub async fn run(cmd: RoleCommand) -> Result<(), Failure> {
    let RoleCommand::Call(a) = cmd;
    let input = read_input(a.input)?;
    let timeout = read_timeout(a.timeout)?;
    let host = open_host()?;
    let grants = host.registry().grants(&a.name).map_err(|e| {
        let e = anyhow::Error::from(e);
        fail(super::exit_code_of(&e), e)
    })?;
    // The operator's one-off step: no run, no budget; tools it calls act
    // for it, as in a run.
    let account = Arc::new(factory_sandbox::hooks::Unmetered::new("role-call"));
    let limits = LimitOverrides {
        deadline_ms: timeout.map(|t| t.as_millis().min(u64::MAX as u128) as u64),
        ..Default::default()
    };
    let result = host
        .run_role(&a.name, &input, &grants, limits, account)
        .await;
    host.journal().flush();
    print_outcome(result, a.show_stderr)
}
