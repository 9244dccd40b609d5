//! The input and output of each role kind (the JSON passed through
//! `factory:plugin/role.run`). Documented in `docs/roles.md`. Paths in
//! `workdir` are as the role sees them (its granted directory).

use crate::plan::{Plan, Subtask};
use crate::report::TestReport;
use crate::task::Task;
use serde::{Deserialize, Serialize};

/// Work sent back to a role: a failing test run, review comments, a merge
/// conflict.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    /// `tester`, `reviewer`, `merge`, …
    pub from: String,
    pub summary: String,
    #[serde(default)]
    pub details: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ArchitectInput {
    pub task: Task,
    /// The repository, read-only.
    pub workdir: String,
}

pub type ArchitectOutput = Plan;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CoderInput {
    pub task: Task,
    pub subtask: Subtask,
    /// The coder's own worktree, read-write; nothing else is visible.
    pub workdir: String,
    /// 1 for the first try; each feedback round adds one.
    pub attempt: u32,
    #[serde(default)]
    pub feedback: Vec<Feedback>,
    /// Most model turns of this step.
    pub max_turns: u32,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CoderOutput {
    /// What was changed and why, for the commit message and the journal.
    pub summary: String,
    #[serde(default)]
    pub changed: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TesterInput {
    pub workdir: String,
    /// The test command, as argv.
    pub command: Vec<String>,
    /// `cargo-test`, `pytest`, `unittest`, `junit`, or None to detect.
    #[serde(default)]
    pub format: Option<String>,
    /// A JUnit XML file the command writes, relative to `workdir`; when
    /// set, it is parsed instead of the output.
    #[serde(default)]
    pub junit_path: Option<String>,
    #[serde(default)]
    pub timeout_ms: Option<u32>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TesterOutput {
    pub passed: bool,
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub report: TestReport,
    /// The last lines of the command's output.
    pub output_tail: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ReviewChecks {
    /// Most changed lines (added + removed) before the change is too big.
    pub max_diff_lines: u32,
    /// Globs of paths the change must not touch.
    #[serde(default)]
    pub forbidden_paths: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReviewerInput {
    pub task: Task,
    /// The change's worktree, read-only.
    pub workdir: String,
    /// `git diff` of the change against its base.
    pub diff: String,
    pub changed: Vec<String>,
    pub checks: ReviewChecks,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Approve,
    RequestChanges,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub line: Option<u32>,
    pub message: String,
    /// `model` or `check:<name>`.
    pub source: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReviewerOutput {
    pub verdict: Verdict,
    pub summary: String,
    #[serde(default)]
    pub comments: Vec<Comment>,
    #[serde(default)]
    pub checks: Vec<CheckResult>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DocumenterInput {
    pub task: Task,
    /// The change's worktree, read-write.
    pub workdir: String,
    pub diff: String,
    pub changed: Vec<String>,
    pub max_turns: u32,
}

pub type DocumenterOutput = CoderOutput;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeployerInput {
    pub workdir: String,
    pub deploy: Vec<String>,
    pub health: Vec<String>,
    #[serde(default)]
    pub rollback: Vec<String>,
    #[serde(default)]
    pub timeout_ms: Option<u32>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CommandResult {
    pub command: Vec<String>,
    pub exit_code: Option<i32>,
    pub output_tail: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DeployerOutput {
    pub deployed: bool,
    pub healthy: bool,
    pub rolled_back: bool,
    pub steps: Vec<CommandResult>,
}

/// The last `n` lines of `s`, at most `max` bytes.
pub fn tail(s: &str, n: usize, max: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    let t = lines[lines.len().saturating_sub(n)..].join("\n");
    if t.len() <= max {
        return t;
    }
    t[t.ceil_char_boundary(t.len() - max)..].to_string()
}
