//! `factory tool call`.

use super::{EXIT_LIMIT, EXIT_TOOL_ERROR, EXIT_USAGE, Failure, fail, open_host};
use anyhow::anyhow;
use clap::{Args, Subcommand};
use factory_host::{CallOptions, InvokeError, Outcome};
use std::io::Write;
use std::time::Duration;

#[derive(Subcommand)]
pub enum ToolCommand {
    /// Run one invocation in a fresh sandboxed instance and print the tool's
    /// JSON result on stdout. A tool error is printed as
    /// {"error":{"kind":...,"message":...}} on stdout (exit 1); a sandbox
    /// limit as {"limit":{"kind":...,"message":...}} (exit 3).
    Call(CallArgs),
}

/// The arguments of `tool call` and `role call`.
#[derive(Args)]
pub struct CallArgs {
    /// The plugin (see `factory plugin list`).
    pub(super) name: String,
    /// The input, a JSON document (`-` reads it from stdin).
    #[arg(long)]
    pub(super) input: String,
    /// A deadline shorter than the plugin's, in seconds.
    #[arg(long, value_name = "SECONDS")]
    pub(super) timeout: Option<f64>,
    /// Also print the plugin's captured stderr.
    #[arg(long)]
    pub(super) show_stderr: bool,
}

/// The `--input` document (`-`: stdin), checked to be JSON.
pub(super) fn read_input(input: String) -> Result<String, Failure> {
    let input = if input == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| anyhow!("cannot read the input from stdin: {e}"))?
    } else {
        input
    };
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&input) {
        return Err(fail(EXIT_USAGE, anyhow!("--input is not valid JSON: {e}")));
    }
    Ok(input)
}

pub(super) fn read_timeout(timeout: Option<f64>) -> Result<Option<Duration>, Failure> {
    match timeout {
        Some(t) if !(t > 0.0 && t.is_finite()) => Err(fail(
            EXIT_USAGE,
            anyhow!("--timeout must be a positive number of seconds"),
        )),
        Some(t) => Ok(Some(Duration::from_secs_f64(t))),
        None => Ok(None),
    }
}

pub async fn run(cmd: ToolCommand) -> Result<(), Failure> {
    let ToolCommand::Call(a) = cmd;
    let input = read_input(a.input)?;
    let timeout = read_timeout(a.timeout)?;
    let host = open_host()?;
    let result = host
        .invoke(
            &a.name,
            &input,
            CallOptions {
                timeout,
                ..Default::default()
            },
        )
        .await;
    host.journal().flush();
    // Everything is committed: a one-shot process leaves the teardown of
    // the engine's memory pool, the ticker and the writer thread to the
    // OS (a third of a cold call's time otherwise).
    std::mem::forget(host);
    print_outcome(result, a.show_stderr)
}

/// Print an invocation's result as `tool call` documents it; the exit code
/// follows the outcome.
pub(super) fn print_outcome(
    result: Result<factory_host::Invocation, InvokeError>,
    show_stderr: bool,
) -> Result<(), Failure> {
    let inv = match result {
        Ok(inv) => inv,
        Err(
            e @ (InvokeError::UnknownPlugin(_)
            | InvokeError::WrongWorld(..)
            | InvokeError::Tampered { .. }),
        ) => {
            return Err(fail(EXIT_USAGE, e.into()));
        }
        Err(e) => return Err(fail(super::EXIT_INTERNAL, e.into())),
    };
    if show_stderr && !inv.stderr.is_empty() {
        let _ = std::io::stderr().write_all(&inv.stderr);
    }
    let failure = inv.failure_text();
    match inv.outcome {
        Outcome::Ok(json) => {
            println!("{json}");
            Ok(())
        }
        Outcome::ToolError(f) => {
            println!("{}", serde_json::json!({ "error": f }));
            Err(fail(
                EXIT_TOOL_ERROR,
                anyhow!("{}", failure.unwrap_or_default()),
            ))
        }
        Outcome::Limit(kind, message) => {
            println!(
                "{}",
                serde_json::json!({ "limit": { "kind": kind, "message": message } })
            );
            if !inv.stderr.is_empty() && !show_stderr {
                let tail =
                    String::from_utf8_lossy(&inv.stderr[inv.stderr.len().saturating_sub(2048)..])
                        .into_owned();
                eprintln!("{tail}");
            }
            Err(fail(EXIT_LIMIT, anyhow!("{}", failure.unwrap_or_default())))
        }
    }
}
