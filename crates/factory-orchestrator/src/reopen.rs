//! Review feedback from outside (a pull-request review on the run's
//! branch): a draft waiting for a decision goes back to its review phase,
//! where a coder addresses the comments, the tests and the reviewer run
//! again, and the gates deliver a new draft. The review loop, closed from
//! outside.
//!
//! Each piece of feedback is applied once, by its id, so a redelivered or
//! resumed task does not send the coder round twice for one review.

use super::approve::DecisionError;
use super::outcome::Delivery;
use super::state::{Phase, RunStatus, TaskStatus};
use super::store::{StepRow, Store};
use crate::journal::EventRecord;
use crate::runtime::Host;
use factory_types::roles::Feedback;
use serde_json::json;

/// Send run `id` back to review with `fb` (known as `fb_id`). Ok(true)
/// when it was reopened now, Ok(false) when this feedback was applied
/// before; then [`super::resume`] carries the run on.
pub fn reopen(host: &Host, id: &str, fb: &Feedback, fb_id: &str) -> Result<bool, DecisionError> {
    let store = Store::open(&host.home().db_path())?;
    let run = store
        .run(id)?
        .ok_or_else(|| DecisionError::UnknownRun(id.to_string()))?;
    let review = Phase::Review.id();
    let mut t = store.task(id, review)?.ok_or_else(|| {
        DecisionError::NotWaiting(format!("run {id} has not reached its review yet"))
    })?;
    let applied: Vec<String> =
        serde_json::from_value(t.data["external"].clone()).unwrap_or_default();
    if applied.iter().any(|a| a == fb_id) {
        return Ok(false);
    }
    let (cfg, _) = super::start::stored(&run).map_err(|e| DecisionError::Failed(e.to_string()))?;
    if !cfg.pipeline.review {
        return Err(DecisionError::NotWaiting(format!(
            "run {id} has no review phase ([pipeline] review = false): review feedback has nowhere to go"
        )));
    }
    let waiting = run.status == RunStatus::Done
        && run
            .result
            .as_ref()
            .is_some_and(|r| r.delivery == Delivery::Draft && r.decision.is_none());
    if !waiting {
        return Err(DecisionError::NotWaiting(format!(
            "run {id} is {} and not a draft waiting for review; feedback applies to a draft",
            run.status
        )));
    }
    t.status = TaskStatus::Pending;
    t.reason.clear();
    t.data["feedback"] = json!([fb]);
    t.data["signature"] = serde_json::Value::Null;
    let mut applied = applied;
    applied.push(fb_id.to_string());
    t.data["external"] = json!(applied);
    store.upsert_task(id, &t)?;
    store.add_step(
        id,
        &StepRow {
            task_id: review.into(),
            role: "orchestrator".into(),
            kind: "feedback".into(),
            status: "ok".into(),
            summary: super::cap_text(&format!("{}: {}", fb.from, fb.summary), 300),
            detail: super::cap_text(&fb.details, 20_000),
            ..Default::default()
        },
    )?;
    let why = format!("reopened for review feedback from {}", fb.from);
    store.set_run_status(id, RunStatus::Blocked, &why)?;
    host.journal().event(EventRecord {
        run_id: Some(id.to_string()),
        capability: "feedback".into(),
        target: fb_id.into(),
        ..EventRecord::new(
            "operator",
            "feedback",
            format!("run {id} {why}: {}", fb.summary),
        )
    });
    Ok(true)
}
