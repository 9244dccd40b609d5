//! A human's decision on a draft: approve (merge it, after the gates are
//! checked again against the target branch as it is now) or reject.
//!
//! Approving twice merges once: the second approval finds the run merged
//! (or its commit already in the target, when a service died between the
//! merge and recording it) and says so. Approvals of one target branch go
//! one at a time, each re-checked against what the one before merged.

use super::deliver::{self, merge};
use super::outcome::{Decision, Delivery, GateResult, RunResult};
use super::state::{self, Phase, RunStatus};
use super::store::{RunRow, Store};
use super::{Ctx, RunFailure, git, progress::ProgressSink};
use crate::budget::Spent;
use crate::journal::EventRecord;
use crate::runtime::Host;
use factory_types::roles::ReviewerOutput;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error("no run `{0}` (see `factory runs`)")]
    UnknownRun(String),
    /// The run is not a draft waiting for a decision.
    #[error("{0}")]
    NotWaiting(String),
    /// Something changed since the draft was made: the target conflicts,
    /// or the branch moved.
    #[error("{0}")]
    Conflict(String),
    #[error("the gates failed against the current target branch: {}", failed(.0))]
    GatesFailed(Vec<GateResult>),
    #[error("{0}")]
    Failed(String),
}

fn failed(gates: &[GateResult]) -> String {
    gates
        .iter()
        .filter(|g| !g.passed)
        .map(|g| format!("{}: {}", g.name, g.evidence))
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<rusqlite::Error> for DecisionError {
    fn from(e: rusqlite::Error) -> Self {
        DecisionError::Failed(format!("run database: {e}"))
    }
}

impl From<git::GitError> for DecisionError {
    fn from(e: git::GitError) -> Self {
        DecisionError::Failed(e.to_string())
    }
}

/// What an approval did.
#[derive(Debug, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Approved {
    /// Merged now.
    Merged {
        target: String,
        commit: String,
        gates: Vec<GateResult>,
    },
    /// It was merged before; nothing was done.
    AlreadyMerged { target: String, commit: String },
}

fn now() -> i64 {
    crate::db::now_ms()
}

/// The run and its result, if it is a draft waiting for a decision.
fn waiting(store: &Store, id: &str) -> Result<(RunRow, RunResult), DecisionError> {
    let run = store
        .run(id)?
        .ok_or_else(|| DecisionError::UnknownRun(id.to_string()))?;
    let Some(result) = run.result.clone() else {
        return Err(DecisionError::NotWaiting(format!(
            "run {id} is {}{}: it has no change waiting for a decision",
            run.status,
            if run.reason.is_empty() {
                String::new()
            } else {
                format!(" ({})", run.reason)
            }
        )));
    };
    Ok((run, result))
}

fn journal(host: &Host, run: &str, kind: &str, message: String) {
    host.journal().event(EventRecord {
        run_id: Some(run.to_string()),
        capability: "decision".into(),
        target: kind.into(),
        ..EventRecord::new("operator", kind, message)
    });
}

/// Run `id` and its result, read under the lock of its target branch
/// (decisions and deliveries into one branch go one at a time), with the
/// repository and the guard.
async fn locked(
    store: &Store,
    id: &str,
) -> Result<(tokio::sync::OwnedMutexGuard<()>, PathBuf, RunRow, RunResult), DecisionError> {
    let run = store
        .run(id)?
        .ok_or_else(|| DecisionError::UnknownRun(id.to_string()))?;
    let repo = git::open_repo(Path::new(&run.repo))?;
    let guard = merge::lock_target(&repo, &run.target).await;
    // Read under the lock: another decision may have just been made.
    let (run, result) = waiting(store, id)?;
    Ok((guard, repo, run, result))
}

/// Approve run `id`'s draft on behalf of `by`: check its gates again on
/// the change merged with the current target branch, then merge it.
pub async fn approve(host: &Host, id: &str, by: &str) -> Result<Approved, DecisionError> {
    let store = Arc::new(Store::open(&host.home().db_path())?);
    let (_serial, repo, run, mut result) = locked(&store, id).await?;
    if result.delivery == Delivery::Merged {
        return Ok(Approved::AlreadyMerged {
            target: result.merged_into.unwrap_or(run.target),
            commit: result.merge_commit.unwrap_or_default(),
        });
    }
    check_undecided(id, &run, &result)?;
    // A clone of a remote: the target as the remote has it now, and the
    // merge is a push (a fast-forward, by compare-and-swap).
    let clone = git::remote::is_clone(&repo);
    let target_tip = if clone {
        git::remote::fetch_branch(&repo, &run.target)?.ok_or_else(|| {
            DecisionError::Conflict(format!("the remote has no branch {}", run.target))
        })?
    } else {
        git::rev(&repo, &run.target)?
    };
    // Merged before its merge was recorded (the service stopped between).
    if git::is_ancestor(&repo, &result.tip, &target_tip) {
        record_merge(&store, host, id, &mut result, &run.target, &target_tip, by)?;
        return Ok(Approved::AlreadyMerged {
            target: run.target,
            commit: target_tip,
        });
    }
    let (cfg, task) =
        super::start::stored(&run).map_err(|e| DecisionError::Failed(e.to_string()))?;
    let (dir, work) = super::start::integration_worktree(host, &repo, &run)
        .map_err(|e| DecisionError::Failed(e.to_string()))?;
    let branch_tip = git::head(&work)?;
    if branch_tip != result.tip {
        return Err(DecisionError::Conflict(format!(
            "{} moved since its gates ran (it is at {branch_tip}, the gates saw {}); the draft is not what was reviewed",
            run.branch, result.tip
        )));
    }
    let ctx = Ctx {
        budget: Arc::new(super::start::budget_from(
            &cfg,
            Spent::default(),
            HashMap::new(),
        )),
        host: host.clone(),
        store: store.clone(),
        run_id: id.to_string(),
        trust: super::config::Reach::parse(&run.trust).unwrap_or(cfg.trust),
        cfg,
        task,
        repo,
        dir,
        work,
        branch: run.branch.clone(),
        // The gates look at the change against the target as it is now.
        base: target_tip.clone(),
        target: run.target.clone(),
        model: None,
        started: Instant::now(),
        progress: ProgressSink::default(),
    };
    let tip = merge::up_to(&ctx, &target_tip, &branch_tip)?.map_err(DecisionError::Conflict)?;
    let review: Option<ReviewerOutput> = store
        .task(id, Phase::Review.id())?
        .and_then(|t| serde_json::from_value(t.data["review"].clone()).ok());
    // Until it is merged, the run branch stays what was reviewed: a merge of
    // the target made for this check is undone if the approval fails.
    let undo = |e: DecisionError| {
        if tip != result.tip {
            let _ = git::git(&ctx.work, &["reset", "-q", "--hard", &result.tip]);
        }
        e
    };
    let checked = deliver::check(&ctx, &review, &tip, true)
        .await
        .map_err(|f| match f {
            RunFailure::Blocked(m) | RunFailure::Budget(m) | RunFailure::Failed(m) => {
                undo(DecisionError::Failed(m))
            }
        })?;
    if !checked.gates_pass {
        journal(
            host,
            id,
            "approve",
            format!(
                "approval by {by} refused: the gates failed against {}: {}",
                run.target,
                failed(&checked.gates)
            ),
        );
        return Err(undo(DecisionError::GatesFailed(checked.gates)));
    }
    let commit = if clone {
        match git::remote::push_fast_forward(&ctx.repo, &run.target, &target_tip, &tip) {
            Ok(_) => tip.clone(),
            Err(e) => return Err(undo(DecisionError::Conflict(e.message))),
        }
    } else {
        match merge::into_target(&ctx, &tip).map_err(|e| undo(e.into()))? {
            Ok(c) => c,
            Err(why) => return Err(undo(DecisionError::Conflict(why))),
        }
    };
    result.gates = checked.gates.clone();
    result.gates_pass = true;
    result.changed = checked.changed;
    result.tip = tip;
    record_merge(&store, host, id, &mut result, &run.target, &commit, by)?;
    ctx.note(
        state::DELIVER,
        "deliver",
        "ok",
        format!("approved by {by}: merged into {}", run.target),
        commit.clone(),
    );
    Ok(Approved::Merged {
        target: run.target,
        commit,
        gates: checked.gates,
    })
}

fn check_undecided(id: &str, run: &RunRow, result: &RunResult) -> Result<(), DecisionError> {
    if let Some(d) = &result.decision {
        return Err(DecisionError::NotWaiting(format!(
            "run {id} was {} by {}",
            d.action, d.by
        )));
    }
    if run.status != RunStatus::Done || result.delivery != Delivery::Draft {
        return Err(DecisionError::NotWaiting(format!(
            "run {id} is {} and delivered a {}: only a draft waits for approval",
            run.status,
            result.delivery.as_str()
        )));
    }
    Ok(())
}

fn record_merge(
    store: &Store,
    host: &Host,
    id: &str,
    result: &mut RunResult,
    target: &str,
    commit: &str,
    by: &str,
) -> Result<(), DecisionError> {
    result.delivery = Delivery::Merged;
    result.merged_into = Some(target.to_string());
    result.merge_commit = Some(commit.to_string());
    result.not_merged = None;
    result.decision = Some(Decision {
        action: "approved".into(),
        by: by.to_string(),
        at: now(),
        note: String::new(),
    });
    store.set_result(id, result)?;
    journal(
        host,
        id,
        "approve",
        format!("approved by {by}: merged into {target} at {commit}"),
    );
    Ok(())
}

/// Reject run `id`'s draft on behalf of `by`: it will not be merged. The
/// branch stays for reference; the run's worktree goes.
pub async fn reject(host: &Host, id: &str, by: &str, note: &str) -> Result<(), DecisionError> {
    let store = Store::open(&host.home().db_path())?;
    let (_serial, repo, run, mut result) = locked(&store, id).await?;
    check_undecided(id, &run, &result)?;
    result.decision = Some(Decision {
        action: "rejected".into(),
        by: by.to_string(),
        at: now(),
        note: note.to_string(),
    });
    store.set_result(id, &result)?;
    git::worktree_remove(
        &repo,
        &host.home().root().join("runs").join(id).join("work"),
    );
    journal(
        host,
        id,
        "reject",
        if note.is_empty() {
            format!("rejected by {by}")
        } else {
            format!("rejected by {by}: {note}")
        },
    );
    Ok(())
}
