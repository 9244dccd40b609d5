//! `/api/tasks`: specs in, the queue out.

use super::{S, accept, accepted, error, internal, query};
use crate::hooks::HookError;
use crate::queue::NewTask;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// `POST /api/tasks?repo=OWNER/NAME[&format=F][&trust=LEVEL]`: the body is
/// the spec; `trust` lowers the run's trust below the service's
/// `--max-trust` (never above it). An
/// `Idempotency-Key` header makes a retried request the same task.
pub async fn post(
    State(s): S,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let q = query(raw);
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let names = || {
        s.config
            .repos
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    };
    let repo = match get("repo") {
        Some(r) => r,
        None if s.config.repos.len() == 1 => {
            s.config.repos.keys().next().cloned().unwrap_or_default()
        }
        None => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("name the repository: ?repo=OWNER/NAME, one of {}", names()),
            );
        }
    };
    if !s.config.repos.contains_key(&repo) {
        return error(
            StatusCode::BAD_REQUEST,
            HookError::Unmapped(repo).to_string(),
        );
    }
    let format = get("format").unwrap_or_else(|| "auto".into());
    let trust = match get("trust") {
        None => None,
        Some(t) => match factory_orchestrator::config::Reach::parse(&t) {
            Some(r) if r <= s.config.max_trust => Some(r),
            Some(r) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "trust {} is above this service's --max-trust {}",
                        r.name(),
                        s.config.max_trust.name()
                    ),
                );
            }
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "`{t}` is not a trust level: read-only, draft, auto-merge, scoped or full"
                    ),
                );
            }
        },
    };
    let Ok(spec) = String::from_utf8(body.to_vec()) else {
        return error(StatusCode::BAD_REQUEST, "the spec is not UTF-8 text".into());
    };
    if spec.trim().is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "the body is the spec (an issue as JSON, a markdown brief, test output, a HAR file, …); it is empty".into(),
        );
    }
    let delivery = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .map(|k| format!("api:{k}"));
    match accept(
        &s,
        NewTask {
            source: "api".into(),
            delivery,
            subject: None,
            repo,
            format,
            spec,
            title: String::new(),
            keys: Vec::new(),
            trust,
        },
    )
    .await
    {
        Ok(e) => accepted(&e),
        Err(r) => r.into_response(),
    }
}

/// `GET /api/tasks[?limit=N]`: the newest first.
pub async fn list(State(s): S, RawQuery(raw): RawQuery) -> Response {
    let limit = query(raw)
        .iter()
        .find(|(k, _)| k == "limit")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(100usize)
        .min(1000);
    match s.queue.list(limit) {
        Ok(tasks) => {
            let shown: Vec<Value> = tasks
                .iter()
                .map(|t| {
                    let mut v = serde_json::to_value(t).unwrap_or_default();
                    if let Some(w) = crate::waiting(&s, t) {
                        v["waiting"] = Value::String(w);
                    }
                    v
                })
                .collect();
            axum::Json(shown).into_response()
        }
        Err(e) => internal(e),
    }
}

/// `GET /api/tasks/{id}`: the task with its spec.
pub async fn get(State(s): S, Path(id): Path<String>) -> Response {
    match s.queue.get(&id) {
        Ok(Some(t)) => {
            // One task shows its spec too (the listing leaves it out).
            let mut v = serde_json::to_value(&t).unwrap_or_default();
            if let Some(w) = crate::waiting(&s, &t) {
                v["waiting"] = Value::String(w);
            }
            v["spec"] = Value::String(t.spec);
            axum::Json(v).into_response()
        }
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no task `{id}`")),
        Err(e) => internal(e),
    }
}

/// `POST /api/tasks/{id}/cancel`: a queued task will not run; a running
/// one is stopped and its run ends as failed (cancelled).
pub async fn cancel(State(s): S, Path(id): Path<String>) -> Response {
    match s.cancel_task(&id, "the API").await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}
