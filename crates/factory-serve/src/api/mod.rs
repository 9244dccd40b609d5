//! The HTTP interface: webhooks (each checked by its own signature or
//! token), the API and the dashboard (both behind the service's token).
//!
//! Webhooks ([`hooks`]):
//! - `POST /hooks/github`, `POST /hooks/slack`, `POST /hooks/alertmanager`:
//!   202 with the task id for new work; 200 for a duplicate delivery, one
//!   linked to open work, a ping or an event ignored (saying why); 401 for
//!   a bad or missing signature or token, with nothing stored; 400 for a
//!   malformed or unmapped payload; 404 when the source is not configured.
//!
//! The API (`Authorization: Bearer <token>`, or the dashboard's cookie):
//! - `POST /api/tasks?repo=OWNER/NAME[&format=F]`: the body is a spec in
//!   any intake format; 202 with the task id ([`tasks`]).
//! - `GET /api/tasks`, `GET /api/tasks/{id}`, `POST /api/tasks/{id}/cancel`.
//! - `GET /api/runs`, `GET /api/runs/{id}`: as `factory runs --json` and
//!   `factory runs show ID --json`; `POST /api/runs/{id}/approve`,
//!   `/reject`, `/cancel` ([`runs`]).
//! - `GET /api/events[?run=ID]`: Server-Sent Events of journal events, run
//!   steps and task changes ([`events`]).

pub mod events;
pub mod hooks;
pub mod runs;
pub mod tasks;

use crate::Service;
use crate::queue::{Enqueued, NewTask};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use std::sync::Arc;
use subtle::ConstantTimeEq;

pub(crate) type S = State<Arc<Service>>;

/// Webhook bodies up to this size (GitHub sends at most 25 MiB).
const MAX_BODY: usize = 25 << 20;

/// The cookie the dashboard's sign-in sets: the token itself, HttpOnly and
/// SameSite=Strict, so that a page elsewhere cannot make the browser use it.
pub const COOKIE: &str = "factory_token";

pub fn router(s: Arc<Service>) -> Router {
    let api = Router::new()
        .route("/api/tasks", get(tasks::list).post(tasks::post))
        .route("/api/tasks/{id}", get(tasks::get))
        .route("/api/tasks/{id}/cancel", post(tasks::cancel))
        .route("/api/runs", get(runs::list))
        .route("/api/runs/{id}", get(runs::get))
        .route("/api/runs/{id}/approve", post(runs::approve))
        .route("/api/runs/{id}/reject", post(runs::reject))
        .route("/api/runs/{id}/cancel", post(runs::cancel))
        .route("/api/events", get(events::stream))
        .layer(middleware::from_fn_with_state(s.clone(), require_token));
    Router::new()
        .route("/hooks/github", post(hooks::github))
        .route("/hooks/slack", post(hooks::slack))
        .route("/hooks/alertmanager", post(hooks::alertmanager))
        .merge(api)
        .merge(crate::dashboard::router(s.clone()))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint".into()) })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(s)
}

pub(crate) fn error(code: StatusCode, message: String) -> Response {
    (code, axum::Json(json!({ "error": message }))).into_response()
}

pub(crate) fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!("{e}");
    error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// `given` is the secret `want`, compared in constant time; an empty one
/// never is.
pub(crate) fn same_secret(given: &str, want: &str) -> bool {
    !given.is_empty() && bool::from(given.as_bytes().ct_eq(want.as_bytes()))
}

/// The token of `Authorization: Bearer <token>`, if the request has one.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// Whether the request carries the service's token: as
/// `Authorization: Bearer <token>`, or as the dashboard's cookie. Compared
/// in constant time.
pub(crate) fn authorized(s: &Service, headers: &HeaderMap) -> bool {
    let matches = |given: &str| same_secret(given, &s.config.token);
    if bearer(headers).is_some_and(matches) {
        return true;
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .any(|(k, v)| k == COOKIE && matches(v))
}

pub(crate) fn unauthorized() -> Response {
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

async fn require_token(State(s): S, req: Request, next: Next) -> Response {
    if authorized(&s, req.headers()) {
        next.run(req).await
    } else {
        unauthorized()
    }
}

/// Why a task was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// 400: no intake adapter reads the spec.
    #[error("the spec cannot be read: {0}")]
    Spec(String),
    /// 500.
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::Spec(_) => error(StatusCode::BAD_REQUEST, self.to_string()),
            Refused::Queue(e) => internal(e),
        }
    }
}

/// Accept a task. Its spec is read first by its intake adapter (sandboxed,
/// as a run will read it): a spec no adapter reads is refused now, and the
/// task's title and keys (its failing tests; its title and scope) come
/// from what the adapter made of it. Then it is [`queue`]d.
pub(crate) async fn accept(s: &Service, t: NewTask) -> Result<Enqueued, Refused> {
    let mut t = t;
    let fmt = (t.format != "auto").then_some(t.format.as_str());
    let read = factory_orchestrator::intake::intake(&s.host, &t.spec, &t.source, fmt)
        .await
        .map_err(|e| Refused::Spec(e.to_string()))?;
    t.title = read.task.title.clone();
    t.keys = crate::dedupe::keys(&t.repo, &read.task, &t.spec);
    queue(s, t)
}

/// Queue a task, or recognise it as work already accepted; a worker is
/// woken when it is new. (A spec goes through [`accept`]; review feedback,
/// which is no spec, comes here directly.)
pub(crate) fn queue(s: &Service, t: NewTask) -> Result<Enqueued, Refused> {
    let e = s.queue.enqueue(t)?;
    if let Enqueued::Queued { .. } = &e {
        s.wake.notify_one();
        if let Some(link) = &s.scale {
            link.publish_soon();
        }
    }
    Ok(e)
}

/// 202 for new work, 200 for work already accepted.
pub(crate) fn accepted(e: &Enqueued) -> Response {
    let code = match e {
        Enqueued::Queued { .. } => StatusCode::ACCEPTED,
        Enqueued::Duplicate { .. } | Enqueued::Linked { .. } => StatusCode::OK,
    };
    (code, axum::Json(e)).into_response()
}

pub(crate) fn query(raw: Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}
