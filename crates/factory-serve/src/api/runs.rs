//! `/api/runs`: runs as `factory runs --json` shows them, and the human
//! decisions on them: approve, reject, cancel.

use super::{S, error, internal};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use factory_orchestrator::approve::{self, DecisionError};
use serde_json::{Value, json};

/// `GET /api/runs`: the newest first.
pub async fn list(State(s): S) -> Response {
    match s.runs.runs(100) {
        Ok(rows) => axum::Json(rows).into_response(),
        Err(e) => internal(e),
    }
}

/// `GET /api/runs/{id}`: the timeline, gates, costs, as `runs show --json`.
pub async fn get(State(s): S, Path(id): Path<String>) -> Response {
    match factory_orchestrator::report::view(&s.host, &id) {
        Ok(Some(v)) => axum::Json(v).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no run `{id}`")),
        Err(e) => internal(e),
    }
}

/// A decision's error as HTTP: 404 for no such run, 409 for a run not
/// waiting or changed under it (the gates' results with it), 500 else.
pub fn decision_error(e: DecisionError) -> Response {
    match e {
        DecisionError::UnknownRun(_) => error(StatusCode::NOT_FOUND, e.to_string()),
        DecisionError::NotWaiting(_) | DecisionError::Conflict(_) => {
            error(StatusCode::CONFLICT, e.to_string())
        }
        DecisionError::GatesFailed(ref gates) => (
            StatusCode::CONFLICT,
            axum::Json(json!({"error": e.to_string(), "gates": gates})),
        )
            .into_response(),
        DecisionError::Failed(_) => internal(e),
    }
}

/// `POST /api/runs/{id}/approve`: merge the draft once its gates pass
/// again against the target branch as it is now. 200 with `merged` (or
/// `already-merged`: approving twice merges once).
pub async fn approve(State(s): S, Path(id): Path<String>) -> Response {
    match s.approve(&id, "the API").await {
        Ok(a) => axum::Json(a).into_response(),
        Err(e) => decision_error(e),
    }
}

/// The reason a reject gives: `{"reason": "…"}`, or the body as text.
pub fn reason_of(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let reason = match serde_json::from_str::<Value>(&text) {
        Ok(v) => v["reason"].as_str().unwrap_or_default().to_string(),
        Err(_) => text.trim().to_string(),
    };
    reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(2000)
        .collect()
}

/// `POST /api/runs/{id}/reject`: the draft will not be merged.
pub async fn reject(State(s): S, Path(id): Path<String>, body: Bytes) -> Response {
    match approve::reject(&s.host, &id, "the API", &reason_of(&body)).await {
        Ok(()) => axum::Json(json!({"outcome": "rejected", "run_id": id})).into_response(),
        Err(e) => decision_error(e),
    }
}

/// `POST /api/runs/{id}/cancel`: stop the run (its task ends cancelled).
pub async fn cancel(State(s): S, Path(id): Path<String>) -> Response {
    match s.cancel_run(&id, "the API").await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}
