//! Running granted programs in the host's sandbox (`--exec PROGRAM`).
pub use crate::bindings::factory::plugin::exec::{Command, Output};

/// Run `program` with `args` in `cwd` (a granted directory, or the first one).
pub fn run(program: &str, args: &[&str], cwd: Option<&str>) -> Result<Output, crate::ErrorCode> {
    crate::bindings::factory::plugin::exec::run(&Command {
        program: program.to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
        cwd: cwd.map(str::to_string),
        env: vec![],
        stdin: None,
        timeout_ms: None,
    })
}
