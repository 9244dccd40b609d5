//! The work queue: what was accepted, waiting for a worker, and what came
//! of it.
//!
//! One trait, so that the queue can move onto a distributed engine (NATS
//! JetStream) without the service changing. Its contract:
//!
//! - **At-least-once delivery.** A task is leased to one worker for a
//!   while; a lease that is not renewed expires and the task is leased
//!   again, to any worker.
//! - **Fencing.** Every lease carries a token that grows with each lease of
//!   the task. Only the current holder can record a run or finish the
//!   task; a worker that lost its lease is told so and its writes are
//!   refused.
//! - **Idempotent steps.** A task remembers the run it started, so a
//!   redelivered task resumes that run instead of starting another.
//! - **Dead letters.** A task leased `max_attempts` times without an end is
//!   marked failed, with the reason, never dropped.

mod sqlite;

pub use sqlite::SqliteQueue;

use factory_orchestrator::state::RunStatus;
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue database: {0}")]
    Db(#[from] rusqlite::Error),
}

/// A task as accepted, before it is queued.
#[derive(Clone, Debug, Default)]
pub struct NewTask {
    /// Where it came from: `github`, `api`, …
    pub source: String,
    /// The delivery's own id (e.g. `X-GitHub-Delivery`): the same delivery
    /// twice is one task.
    pub delivery: Option<String>,
    /// What the work is about (e.g. `github:acme/calc#42`): a new delivery
    /// about something an open or recent task already covers is linked to
    /// that task rather than run again.
    pub subject: Option<String>,
    /// `OWNER/NAME`, one of the service's repositories.
    pub repo: String,
    /// The intake format of `spec` (`auto` to detect).
    pub format: String,
    pub spec: String,
    pub title: String,
    /// Other ways to recognise the same work (`tests:…` for the same
    /// failing tests, `title:…` for a near-identical title): a new task
    /// sharing one with an open or recent task is linked to it.
    pub keys: Vec<String>,
    /// The trust its run may have (None: the service's `--max-trust`).
    pub trust: Option<factory_orchestrator::config::Reach>,
}

/// What became of an enqueue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Enqueued {
    /// A new task.
    Queued { task_id: String },
    /// This delivery was seen before: its task.
    Duplicate { task_id: String },
    /// Open or recent work covers this already: the same subject, or one
    /// of the same keys (`by` says which).
    Linked { task_id: String, by: String },
}

impl Enqueued {
    pub fn task_id(&self) -> &str {
        match self {
            Enqueued::Queued { task_id }
            | Enqueued::Duplicate { task_id }
            | Enqueued::Linked { task_id, .. } => task_id,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskState {
    Queued,
    Running,
    Done,
    Blocked,
    Failed,
    /// Stopped by a human before it ended.
    Cancelled,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Queued => "queued",
            TaskState::Running => "running",
            TaskState::Done => "done",
            TaskState::Blocked => "blocked",
            TaskState::Failed => "failed",
            TaskState::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> TaskState {
        match s {
            "running" => TaskState::Running,
            "done" => TaskState::Done,
            "blocked" => TaskState::Blocked,
            "failed" => TaskState::Failed,
            "cancelled" => TaskState::Cancelled,
            _ => TaskState::Queued,
        }
    }

    /// What a task comes to when its run ended with `status` (a run still
    /// marked running when it returned did not finish: failed).
    pub fn of_run(status: RunStatus) -> TaskState {
        match status {
            RunStatus::Done => TaskState::Done,
            RunStatus::Blocked => TaskState::Blocked,
            RunStatus::Running | RunStatus::Failed => TaskState::Failed,
        }
    }

    /// The end a remote worker reported: done or blocked, anything else
    /// failed (a report never queues, runs or cancels a task).
    pub fn reported(s: &str) -> TaskState {
        match TaskState::parse(s) {
            t @ (TaskState::Done | TaskState::Blocked) => t,
            _ => TaskState::Failed,
        }
    }

    /// Finished: no worker will take it again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TaskState::Done | TaskState::Blocked | TaskState::Failed | TaskState::Cancelled
        )
    }
}

/// A task in the queue.
#[derive(Clone, Debug, Serialize)]
pub struct QueuedTask {
    pub id: String,
    pub source: String,
    pub delivery: Option<String>,
    pub subject: Option<String>,
    pub repo: String,
    pub format: String,
    #[serde(skip)]
    pub spec: String,
    pub title: String,
    pub state: TaskState,
    /// Leases so far.
    pub attempts: u32,
    /// The run it started, once it did.
    pub run_id: Option<String>,
    /// Why it ended as it did.
    pub reason: String,
    /// The worker holding it, while it runs.
    pub worker: Option<String>,
    /// Deliveries linked to it (same subject or key), oldest first.
    pub linked: Vec<String>,
    /// Notes added since it was accepted (an alert resolved, …).
    pub notes: Vec<TaskNote>,
    pub created: i64,
    pub updated: i64,
    /// The trust its run may have, if it asked for less than the
    /// service's `--max-trust`.
    pub trust: Option<String>,
}

/// A note on a task.
#[derive(Clone, Debug, Serialize)]
pub struct TaskNote {
    /// ms since the epoch.
    pub at: i64,
    pub note: String,
}

/// A task leased to a worker until `until` (ms since the epoch).
#[derive(Clone, Debug)]
pub struct Lease {
    pub task: QueuedTask,
    pub worker: String,
    /// Grows with every lease of this task; writes carry it.
    pub fence: u64,
    pub until: i64,
}

pub trait Queue: Send + Sync {
    /// Accept a task (or recognise it): durable when this returns.
    fn enqueue(&self, t: NewTask) -> Result<Enqueued, QueueError>;
    /// The oldest task waiting (or whose lease expired), leased to
    /// `worker` for `ttl`.
    fn lease(&self, worker: &str, ttl: Duration) -> Result<Option<Lease>, QueueError>;
    /// Keep the lease for another `ttl`; false if it was lost.
    fn renew(&self, lease: &mut Lease, ttl: Duration) -> Result<bool, QueueError>;
    /// Record the run this task started; false if the lease was lost.
    fn set_run(&self, lease: &Lease, run_id: &str) -> Result<bool, QueueError>;
    /// End the task; false if the lease was lost (someone else has it now).
    fn finish(&self, lease: &Lease, state: TaskState, reason: &str) -> Result<bool, QueueError>;
    /// At start, when this process is the queue's only user: leases that
    /// workers of an earlier process held end now, so their tasks are
    /// taken again at once (resuming their runs). Returns how many.
    fn recover(&self) -> Result<usize, QueueError>;
    /// Stop a task that has not ended (queued or running): it ends as
    /// cancelled, and its worker's lease with it. Returns the state it was
    /// in, or None if there is no such task.
    fn cancel(&self, id: &str, reason: &str) -> Result<Option<TaskState>, QueueError>;
    /// Add a note to the newest task about `subject`; its id, if any.
    fn annotate(&self, subject: &str, note: &str) -> Result<Option<String>, QueueError>;
    /// Add a note to task `id`.
    fn note(&self, id: &str, note: &str) -> Result<(), QueueError>;
    /// Scale-out: the run task `id` will have (`run_id`, or the one chosen
    /// before); None if there is no such task.
    fn assign_run(&self, id: &str, run_id: &str) -> Result<Option<String>, QueueError>;
    /// Scale-out: a remote worker claimed the task with `fence` (from the
    /// lease bucket); false for a fence no newer than the last claim's, or
    /// a task that ended.
    fn remote_claim(&self, id: &str, worker: &str, fence: u64) -> Result<bool, QueueError>;
    /// Scale-out: the worker holding `fence` ended the task.
    fn remote_end(
        &self,
        id: &str,
        fence: u64,
        state: TaskState,
        reason: &str,
    ) -> Result<bool, QueueError>;
    /// Scale-out: no worker could end the task (a dead letter): failed.
    fn dead_letter(&self, id: &str, reason: &str) -> Result<bool, QueueError>;
    fn get(&self, id: &str) -> Result<Option<QueuedTask>, QueueError>;
    /// The task that started run `run_id`.
    fn by_run(&self, run_id: &str) -> Result<Option<QueuedTask>, QueueError>;
    /// The newest tasks first.
    fn list(&self, limit: usize) -> Result<Vec<QueuedTask>, QueueError>;
    /// Tasks changed at or after `since` (ms since the epoch), oldest
    /// change first, at most `limit`: what a live view follows.
    fn changed_since(&self, since: i64, limit: usize) -> Result<Vec<QueuedTask>, QueueError>;
}

/// The format of a task that carries review feedback for a run (its spec:
/// `{run_id, id, from, summary, details}`), not a spec for a new run.
pub const FEEDBACK: &str = "feedback";

/// Why a task ended, from its run's end.
pub fn run_reason(run_id: &str, status: RunStatus, reason: &str) -> String {
    if reason.is_empty() {
        format!("run {run_id}: {status}")
    } else {
        format!("run {run_id}: {status}: {reason}")
    }
}

/// A fresh task id: `t-` and 12 hex digits of randomness.
pub fn new_id() -> String {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).expect("the OS random source");
    format!("t-{}", hex::encode(b))
}
