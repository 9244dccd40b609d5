//! The HTTP interface: webhooks (each checked by its own signature) and
//! the API (every `/api/*` request needs `Authorization: Bearer <token>`).
//!
//! - `POST /hooks/github`: 202 with the task id for new work; 200 for a
//!   duplicate delivery, a delivery linked to open work, a ping or an
//!   event ignored (saying why); 401 for a bad or missing signature, with
//!   nothing stored; 400 for a malformed or unmapped payload.
//! - `POST /api/tasks?repo=OWNER/NAME[&format=F]`: the body is a spec in
//!   any intake format; 202 with the task id.
//! - `GET /api/tasks`, `GET /api/tasks/{id}`: the queue.
//! - `GET /api/runs`, `GET /api/runs/{id}`: as `factory runs --json` and
//!   `factory runs show ID --json`.

use crate::Service;
use crate::hooks::{HookError, github};
use crate::queue::{Enqueued, NewTask};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::Arc;
use subtle::ConstantTimeEq;

type S = State<Arc<Service>>;

/// Webhook bodies up to this size (GitHub sends at most 25 MiB).
const MAX_BODY: usize = 25 << 20;

pub fn router(s: Arc<Service>) -> Router {
    let api = Router::new()
        .route("/api/tasks", get(list_tasks).post(post_task))
        .route("/api/tasks/{id}", get(get_task))
        .route("/api/runs", get(list_runs))
        .route("/api/runs/{id}", get(get_run))
        .layer(middleware::from_fn_with_state(s.clone(), require_token));
    Router::new()
        .route("/hooks/github", post(github_hook))
        .merge(api)
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint".into()) })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(s)
}

fn error(code: StatusCode, message: String) -> Response {
    (code, axum::Json(json!({ "error": message }))).into_response()
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!("{e}");
    error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// `Authorization: Bearer <token>`, compared in constant time.
async fn require_token(State(s): S, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if bool::from(given.as_bytes().ct_eq(s.config.token.as_bytes())) && !given.is_empty() {
        return next.run(req).await;
    }
    let mut r = error(
        StatusCode::UNAUTHORIZED,
        "this needs `Authorization: Bearer <token>` with the service's token (--token-file)".into(),
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer realm=\"factory\""),
    );
    r
}

/// Accept a task; wake a worker when it is new.
fn accept(s: &Service, t: NewTask) -> Response {
    match s.queue.enqueue(t) {
        Ok(e) => {
            let code = match &e {
                Enqueued::Queued { .. } => {
                    s.wake.notify_one();
                    StatusCode::ACCEPTED
                }
                Enqueued::Duplicate { .. } | Enqueued::Linked { .. } => StatusCode::OK,
            };
            (
                code,
                axum::Json(json!({"task_id": e.task_id(), "outcome": e})),
            )
                .into_response()
        }
        Err(e) => internal(e),
    }
}

async fn github_hook(State(s): S, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = &s.config.github_secret else {
        return error(
            StatusCode::NOT_FOUND,
            "GitHub webhooks are not configured here (--github-secret-file)".into(),
        );
    };
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // The signature first: nothing is parsed or stored before it holds.
    if let Err(e) = github::verify(secret, h("x-hub-signature-256"), &body) {
        return error(StatusCode::UNAUTHORIZED, e.to_string());
    }
    let (Some(event), Some(delivery)) = (h("x-github-event"), h("x-github-delivery")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "a GitHub delivery has X-GitHub-Event and X-GitHub-Delivery headers".into(),
        );
    };
    let mapped = |repo: &str| s.config.repos.contains_key(repo);
    match github::route(event, delivery, &body, &s.config.trigger_label, &mapped) {
        Ok(github::Action::Task(t)) => accept(&s, t),
        Ok(github::Action::Pong) => axum::Json(json!({"pong": true})).into_response(),
        Ok(github::Action::Ignore(why)) => axum::Json(json!({"ignored": why})).into_response(),
        Err(e @ (HookError::Malformed(_) | HookError::Unmapped(_))) => {
            error(StatusCode::BAD_REQUEST, e.to_string())
        }
        Err(e) => error(StatusCode::UNAUTHORIZED, e.to_string()),
    }
}

fn query(raw: Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

async fn post_task(State(s): S, RawQuery(raw): RawQuery, body: Bytes) -> Response {
    let q = query(raw);
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let repo = match get("repo") {
        Some(r) => r,
        None if s.config.repos.len() == 1 => {
            s.config.repos.keys().next().cloned().unwrap_or_default()
        }
        None => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "name the repository: ?repo=OWNER/NAME, one of {}",
                    s.config
                        .repos
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    };
    if !s.config.repos.contains_key(&repo) {
        return error(
            StatusCode::BAD_REQUEST,
            HookError::Unmapped(repo).to_string(),
        );
    }
    let Ok(spec) = String::from_utf8(body.to_vec()) else {
        return error(StatusCode::BAD_REQUEST, "the spec is not UTF-8 text".into());
    };
    if spec.trim().is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "the body is the spec (an issue as JSON, a markdown brief, test output, …); it is empty".into(),
        );
    }
    let title = title_of(&spec);
    accept(
        &s,
        NewTask {
            source: "api".into(),
            delivery: None,
            subject: None,
            repo,
            format: get("format").unwrap_or_else(|| "auto".into()),
            spec,
            title,
        },
    )
}

/// A title for the queue's listing: an issue's title, else the first line.
fn title_of(spec: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(spec)
        && let Some(t) = v["title"].as_str()
    {
        return t.chars().take(200).collect();
    }
    spec.lines()
        .map(|l| l.trim_start_matches('#').trim())
        .find(|l| !l.is_empty())
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}

async fn list_tasks(State(s): S, RawQuery(raw): RawQuery) -> Response {
    let limit = query(raw)
        .iter()
        .find(|(k, _)| k == "limit")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(100usize)
        .min(1000);
    match s.queue.list(limit) {
        Ok(tasks) => axum::Json(tasks).into_response(),
        Err(e) => internal(e),
    }
}

async fn get_task(State(s): S, Path(id): Path<String>) -> Response {
    match s.queue.get(&id) {
        Ok(Some(t)) => axum::Json(t).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no task `{id}`")),
        Err(e) => internal(e),
    }
}

async fn list_runs(State(s): S) -> Response {
    match s.runs.runs(100) {
        Ok(rows) => axum::Json(rows).into_response(),
        Err(e) => internal(e),
    }
}

async fn get_run(State(s): S, Path(id): Path<String>) -> Response {
    match factory_orchestrator::report::view(&s.host, &id) {
        Ok(Some(v)) => axum::Json(v).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no run `{id}`")),
        Err(e) => internal(e),
    }
}
