//! The factory loop: a task goes in, the architect plans it, coders work
//! on the subtasks in parallel worktrees, the tester sends failures back,
//! the reviewer sends requested changes back, the documenter writes docs,
//! the gates decide, and the run's trust level decides how far delivery
//! goes. All state is in the factory database: a killed run resumes.

pub mod approve;
pub mod budget;
pub mod config;
mod deliver;
mod durable;
mod finish;
pub mod git;
pub mod guard;
pub mod intake;
pub mod operator;
pub mod outcome;
mod phases;
pub mod pipeline;
pub mod progress;
pub mod reopen;
pub mod report;
mod start;
pub mod state;
mod steps;
pub mod store;
mod subtask;
pub mod track;
mod verify;
mod watchdog;

pub use start::{new_run_id, resume, start, valid_run_id};

// The crates below, under the paths this crate's modules use.
pub(crate) use factory_models as models;
pub(crate) use factory_policy::{compiled as policy, grants, trust};
pub(crate) use factory_sandbox::caps;
pub(crate) use factory_store::{db, home, journal, registry, runtime};

use crate::budget::Budget;
use crate::runtime::{Host, ToolFailure};
use config::{Config, Reach};
use factory_types::Task;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use store::Store;

/// Everything a run's steps share.
pub struct Ctx {
    pub host: Host,
    pub store: Arc<Store>,
    pub run_id: String,
    pub cfg: Config,
    pub task: Task,
    /// The repository the run works on.
    pub repo: PathBuf,
    /// `$FACTORY_HOME/runs/ID`: worktrees, scratch, report.
    pub dir: PathBuf,
    /// The run's integration worktree (on the run branch).
    pub work: PathBuf,
    pub branch: String,
    pub base: String,
    pub target: String,
    pub trust: Reach,
    /// The granted model name, if a model is configured.
    pub model: Option<String>,
    pub budget: Arc<Budget>,
    pub started: Instant,
    /// Where live progress goes (a terminal, or nowhere).
    pub progress: progress::ProgressSink,
}

/// The trailer every commit a run makes carries: delivery finds it in
/// the target's history and does not deliver the run a second time.
pub const RUN_TRAILER: &str = "Factory-Run";

impl Ctx {
    /// `message` with the run's trailer.
    pub fn with_trailer(&self, message: String) -> String {
        format!("{}\n\n{RUN_TRAILER}: {}", message.trim_end(), self.run_id)
    }
}

/// Why a run stopped before delivery.
#[derive(Debug)]
pub enum RunFailure {
    /// Needs a human: a loop repeated the same failure, attempts ran out, a
    /// feedback edge says stop.
    Blocked(String),
    /// A token, cost or wall-time budget ran out.
    Budget(String),
    /// A step failed in a way a retry will not fix.
    Failed(String),
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0} is not a git repository (or git is missing): {1}")]
    NotARepo(String, String),
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Intake(#[from] intake::IntakeError),
    #[error(transparent)]
    Model(#[from] crate::models::ModelSetupError),
    #[error(transparent)]
    Git(#[from] git::GitError),
    #[error("run database")]
    Db(#[from] rusqlite::Error),
    #[error("no run `{0}` (see `factory runs`)")]
    UnknownRun(String),
    #[error("run {0} is already {1}; nothing to resume")]
    Finished(String, state::RunStatus),
    #[error("{0}")]
    Setup(String),
}

/// What `factory run` and `factory resume` report.
#[derive(Debug, serde::Serialize)]
pub struct RunSummary {
    pub id: String,
    pub status: state::RunStatus,
    pub reason: String,
    pub result: Option<outcome::RunResult>,
    pub report: PathBuf,
    pub tokens: u64,
    pub cost_usd: f64,
}

/// Options of `factory run`.
#[derive(Debug, Default)]
pub struct RunOptions {
    pub repo: PathBuf,
    pub spec: PathBuf,
    pub format: Option<String>,
    pub trust: Option<Reach>,
    /// The most trust the run may have, whatever factory.toml, `trust` or
    /// the operator's policy say (a run started over MCP).
    pub max_trust: Option<Reach>,
    pub replay: Option<PathBuf>,
    /// Replay a recording even where the live requests differ from it.
    pub replay_lenient: bool,
    pub record: Option<PathBuf>,
    /// Where live progress goes.
    pub progress: progress::ProgressSink,
    /// The run's id, chosen by the caller (a service records it before the
    /// run exists, so a restart resumes this run rather than starting
    /// another); None: a new one.
    pub run_id: Option<String>,
}

/// A component's error as a run shows it: as the sandbox words it, but a
/// plain failure without its `failed:` prefix.
pub fn failure_text(f: &ToolFailure) -> String {
    match f {
        ToolFailure::Failed(m) => m.clone(),
        other => other.to_string(),
    }
}

pub fn cap_text(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    format!("{}…", &s[..s.floor_char_boundary(max)])
}

/// A one-line summary of a role's output for the timeline.
fn summarize(kind: steps::Kind, v: &serde_json::Value) -> String {
    use steps::Kind::*;
    let s = |p: &str| {
        v.pointer(p)
            .and_then(|x| x.as_str())
            .unwrap_or("")
            .to_string()
    };
    let line = match kind {
        Architect => format!(
            "plan: {} subtasks: {}",
            v.pointer("/subtasks")
                .and_then(|s| s.as_array())
                .map_or(0, |a| a.len()),
            s("/summary")
        ),
        Coder | Documenter => s("/summary"),
        Tester => format!(
            "{}: {} passed, {} failed",
            if v["passed"] == true {
                "tests pass"
            } else {
                "tests fail"
            },
            v.pointer("/report/passed")
                .and_then(|x| x.as_u64())
                .unwrap_or(0),
            v.pointer("/report/failed")
                .and_then(|x| x.as_u64())
                .unwrap_or(0)
        ),
        Reviewer => format!("{}: {}", s("/verdict"), s("/summary")),
        Deployer => format!(
            "deployed: {}, healthy: {}, rolled back: {}",
            v["deployed"], v["healthy"], v["rolled_back"]
        ),
    };
    cap_text(line.lines().next().unwrap_or(""), 300)
}
