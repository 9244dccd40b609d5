//! The command line. Exit codes (documented in `--help` and the README):
//! 0 success, 1 the tool returned an error, 2 usage or configuration error,
//! 3 a sandbox limit ended the call (deadline, memory, output cap, trap),
//! 70 internal error.

mod demo;
mod intake;
mod keys;
mod log;
mod mcp;
mod new;
mod plugin;
mod policy;
mod role;
mod run;
mod sdk;
mod secret;
mod serve;
mod supply;
mod tool;
mod trust;
mod worker;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

pub const EXIT_TOOL_ERROR: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_LIMIT: u8 = 3;
pub const EXIT_INTERNAL: u8 = 70;

const EXIT_CODES: &str = "Exit codes:
  0   success
  1   the tool returned an error (invalid-input, denied, failed); a run ended blocked or failed
  2   usage or configuration error (bad flags, unknown plugin, tampered component, refused grant)
  3   a sandbox limit ended the call (deadline, memory, output cap, result cap, trap)
  70  internal error

State lives in $FACTORY_HOME (default: $XDG_DATA_HOME/factory).";

#[derive(Parser)]
#[command(
    name = "factory",
    version,
    about = "A software factory host: runs tools and agent roles as sandboxed WebAssembly components.",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install, grant, trust, inspect and remove plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Call tools.
    #[command(subcommand)]
    Tool(tool::ToolCommand),
    /// Show the journal: invocations, denials and changes.
    Log(log::LogArgs),
    /// Turn messy input (a GitHub issue, a markdown brief, test output, a
    /// Slack message) into a structured task.
    Intake(intake::IntakeArgs),
    /// Run a task to completion on a git repository: plan, code, test,
    /// review, document, gate, deliver (as far as the trust level allows).
    Run(run::RunArgs),
    /// Continue a run that was interrupted, blocked or failed. Finished
    /// steps are not redone; the step that was in flight is; a blocked or
    /// failed task gets one more try.
    Resume(run::ResumeArgs),
    /// List runs, or show one (`factory runs show ID`).
    Runs(run::RunsArgs),
    /// Write a run's self-contained HTML report.
    Report(run::ReportArgs),
    /// Run the whole loop offline on the example project (examples/ in the
    /// source tree): intake, plan, code, a failing test, code again, review,
    /// docs, gates, merge. The model's replies are replayed from a file.
    Demo(demo::DemoArgs),
    /// Trust: track records of roles and plugins.
    #[command(subcommand)]
    Trust(trust::TrustCommand),
    /// The operator's policy: the highest trust, model keys and URLs a
    /// repository's factory.toml may ask for (default: draft, the
    /// providers' own keys and URLs).
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Call a role plugin outside a run (for role authors).
    #[command(subcommand)]
    Role(role::RoleCommand),
    /// Serve the installed tools to coding assistants over MCP (stdio, or
    /// Streamable HTTP with --http): `claude mcp add factory -- factory
    /// mcp`. Each call runs in a fresh
    /// sandboxed instance under the plugin's trust level and grants;
    /// nothing served can change grants, trust, limits or what is
    /// installed.
    Mcp(mcp::McpArgs),
    /// Run the factory as a service: GitHub, Slack and Alertmanager
    /// webhooks and an API feed a durable queue; workers run each task (at
    /// most at --max-trust, default draft); the API and a live dashboard
    /// show tasks and runs and take approvals.
    Serve(serve::ServeArgs),
    /// Run tasks from a `factory serve --queue nats://` service on this
    /// machine: pull by trust level, run in a clone, push, report back.
    Worker(worker::WorkerArgs),
    /// Signing keys for the plugins you publish (`factory key generate`).
    #[command(subcommand)]
    Key(keys::KeyCommand),
    /// The signers whose plugins this factory installs from OCI.
    #[command(subcommand)]
    Signer(keys::SignerCommand),
    /// Start a plugin project: `factory new tool NAME --lang python`.
    ///
    /// Writes the plugin's source, the vendored WIT and SDK, a Makefile with
    /// the exact build commands, a README and a test: `make test` builds the
    /// plugin, installs it into a throwaway FACTORY_HOME, calls it and checks
    /// the answer. Each language's toolchain: docs/writing-plugins.md.
    New(new::NewArgs),
    /// Guest tooling for plugin builds: the WIT, C and Go bindings,
    /// componentizing a WASI preview-1 module.
    #[command(subcommand)]
    Sdk(sdk::SdkCommand),
}

/// An error with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

/// The one mapping from an error to an exit code, for errors that reach
/// the CLI edge without one (`fail` names a code where a command knows
/// better): the database and the machine failing under us are internal
/// (70); a path the user named that is missing, unreadable or malformed,
/// and every other error, is the user's to fix (2).
impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        let error: anyhow::Error = e.into();
        Failure {
            code: exit_code_of(&error),
            error,
        }
    }
}

pub fn exit_code_of(error: &anyhow::Error) -> u8 {
    use std::io::ErrorKind as K;
    for cause in error.chain() {
        if cause.downcast_ref::<rusqlite::Error>().is_some() {
            return EXIT_INTERNAL;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                K::NotFound
                | K::PermissionDenied
                | K::InvalidInput
                | K::InvalidData
                | K::AlreadyExists
                | K::IsADirectory
                | K::NotADirectory
                | K::InvalidFilename => EXIT_USAGE,
                _ => EXIT_INTERNAL,
            };
        }
    }
    EXIT_USAGE
}

pub fn fail(code: u8, error: anyhow::Error) -> Failure {
    Failure { code, error }
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FACTORY_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut builder = match &cli.command {
        // A run's subtasks execute in parallel: give it worker threads.
        Command::Run(_) | Command::Resume(_) | Command::Demo(_) | Command::Serve(_) => {
            tokio::runtime::Builder::new_multi_thread()
        }
        Command::Mcp(a) => a.runtime(),
        // Other commands start faster on one thread.
        _ => tokio::runtime::Builder::new_current_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("factory: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_INTERNAL);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Plugin(c) => plugin::run(c).await,
            Command::Tool(c) => tool::run(c).await,
            Command::Log(a) => log::run(a),
            Command::Intake(a) => intake::run(a).await,
            Command::Run(a) => run::run(a).await,
            Command::Resume(a) => run::resume(a).await,
            Command::Runs(a) => run::runs(a),
            Command::Report(a) => run::report(a),
            Command::Trust(c) => trust::run(c),
            Command::Policy(c) => policy::run(c),
            Command::Demo(a) => demo::run(a).await,
            Command::Role(c) => role::run(c).await,
            Command::Mcp(a) => mcp::run(a).await,
            Command::Serve(a) => serve::run(a).await,
            Command::Worker(a) => worker::run(a).await,
            Command::Key(c) => keys::key(c),
            Command::Signer(c) => keys::signer(c),
            Command::New(a) => new::run(a),
            Command::Sdk(c) => sdk::run(c),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("factory: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}

/// Open the host on `$FACTORY_HOME`, for one command.
pub fn open_host() -> Result<factory_host::Host, Failure> {
    open_host_with(Default::default())
}

/// Open the host for a process that serves many calls (`factory mcp`):
/// with the pooling allocator, which makes each fresh instance several
/// times cheaper once the pool is reserved.
pub fn open_service_host() -> Result<factory_host::Host, Failure> {
    open_host_with(factory_host::engine::EngineOptions { pooling: true })
}

fn open_host_with(
    engine: factory_host::engine::EngineOptions,
) -> Result<factory_host::Host, Failure> {
    use anyhow::Context;
    let home = factory_host::Home::from_env().context("cannot use the factory home")?;
    factory_host::Host::open(home, factory_host::builtins::host_options(engine))
        .context("cannot open the factory host")
        .map_err(|e| fail(EXIT_INTERNAL, e))
}

/// Print `value` as pretty JSON.
pub fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    println!(
        "{}",
        serde_json::to_string_pretty(value).map_err(|e| fail(EXIT_INTERNAL, e.into()))?
    );
    Ok(())
}
