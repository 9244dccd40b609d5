//! Stopping work: a task cancelled before it ran never runs; one running
//! here is stopped where it is, and its run ends as failed ("cancelled").

use crate::Service;
use crate::api::error;
use crate::queue::TaskState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use factory_orchestrator::state::RunStatus;
use serde_json::{Value, json};
use std::time::Duration;

/// How long a cancel waits for the worker to let go of the run.
const LET_GO: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Ended(String),
    #[error("{0}")]
    Failed(String),
}

impl IntoResponse for CancelError {
    fn into_response(self) -> Response {
        let code = match &self {
            CancelError::NotFound(_) => StatusCode::NOT_FOUND,
            CancelError::Ended(_) => StatusCode::CONFLICT,
            CancelError::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        error(code, self.to_string())
    }
}

impl Service {
    /// Cancel task `id` on behalf of `by`.
    pub async fn cancel_task(&self, id: &str, by: &str) -> Result<Value, CancelError> {
        let failed = |e: &dyn std::fmt::Display| CancelError::Failed(e.to_string());
        let reason = format!("cancelled by {by}");
        let before = self
            .queue
            .cancel(id, &reason)
            .map_err(|e| failed(&e))?
            .ok_or_else(|| CancelError::NotFound(format!("no task `{id}`")))?;
        if before.is_final() {
            return Err(CancelError::Ended(format!(
                "task {id} already ended ({})",
                before.as_str()
            )));
        }
        // Over NATS: the task's lease is ended for good, so the worker
        // running it stops at its next renewal and no worker takes it.
        if let Some(link) = &self.scale {
            let leases = link.nats.leases().await.map_err(|e| failed(&e))?;
            leases.cancel(id).await.map_err(|e| failed(&e))?;
        }
        // A worker of this process running it lets go.
        let stop = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned();
        if let Some(stop) = stop {
            stop.notify_one();
            let deadline = tokio::time::Instant::now() + LET_GO;
            while self
                .running
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains_key(id)
                && tokio::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let task = self.queue.get(id).map_err(|e| failed(&e))?;
        let run_id = task.and_then(|t| t.run_id);
        if let Some(run) = &run_id {
            let row = self.runs.run(run).map_err(|e| failed(&e))?;
            if row.is_some_and(|r| r.status == RunStatus::Running) {
                self.runs
                    .set_run_status(run, RunStatus::Failed, &reason)
                    .map_err(|e| failed(&e))?;
            }
        }
        self.host
            .journal()
            .event(factory_store::journal::EventRecord {
                run_id: run_id.clone(),
                capability: "decision".into(),
                target: "cancel".into(),
                ..factory_store::journal::EventRecord::new(
                    "operator",
                    "cancel",
                    format!("task {id} {reason} (it was {})", before.as_str()),
                )
            });
        Ok(json!({
            "task_id": id,
            "state": TaskState::Cancelled,
            "was": before,
            "run_id": run_id,
        }))
    }

    /// Cancel the task that started run `run_id`.
    pub async fn cancel_run(&self, run_id: &str, by: &str) -> Result<Value, CancelError> {
        let task = self
            .queue
            .by_run(run_id)
            .map_err(|e| CancelError::Failed(e.to_string()))?;
        match task {
            Some(t) => self.cancel_task(&t.id, by).await,
            None => match self.runs.run(run_id) {
                Ok(Some(_)) => Err(CancelError::NotFound(format!(
                    "run {run_id} was not started by this service; stop it where it runs"
                ))),
                Ok(None) => Err(CancelError::NotFound(format!("no run `{run_id}`"))),
                Err(e) => Err(CancelError::Failed(e.to_string())),
            },
        }
    }
}
