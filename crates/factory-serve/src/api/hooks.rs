//! The webhook endpoints: each checks its source's signature or token on
//! the raw body before anything is parsed or stored.

use super::{S, accept, accepted, error, internal};
use crate::hooks::{Action, HookError, alertmanager, github, slack};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn refused(e: HookError) -> Response {
    match e {
        HookError::Malformed(_) | HookError::Unmapped(_) => {
            error(StatusCode::BAD_REQUEST, e.to_string())
        }
        HookError::Signature(_) => error(StatusCode::UNAUTHORIZED, e.to_string()),
    }
}

fn not_configured(what: &str, flag: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("{what} are not configured here ({flag})"),
    )
}

fn repos(s: &crate::Service) -> Vec<String> {
    s.config.repos.keys().cloned().collect()
}

/// `POST /hooks/github`.
pub async fn github(State(s): S, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = &s.config.github_secret else {
        return not_configured("GitHub webhooks", "--github-secret-file");
    };
    let h = |name: &str| header_str(&headers, name);
    // The signature first: nothing is parsed or stored before it holds.
    if let Err(e) = github::verify(secret, h("x-hub-signature-256"), &body) {
        return refused(e);
    }
    let (Some(event), Some(delivery)) = (h("x-github-event"), h("x-github-delivery")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "a GitHub delivery has X-GitHub-Event and X-GitHub-Delivery headers".into(),
        );
    };
    let mapped = |repo: &str| s.config.repos.contains_key(repo);
    match github::route(event, delivery, &body, &s.config.trigger_label, &mapped) {
        Ok(Action::Task(t)) if t.format == crate::queue::FEEDBACK => {
            if let Err(why) = our_run(&s, &t) {
                return axum::Json(json!({"ignored": why})).into_response();
            }
            match super::queue(&s, t) {
                Ok(e) => accepted(&e),
                Err(r) => r.into_response(),
            }
        }
        Ok(Action::Task(t)) => match accept(&s, t).await {
            Ok(e) => accepted(&e),
            Err(r) => r.into_response(),
        },
        Ok(Action::Pong | Action::Challenge(_)) => {
            axum::Json(json!({"pong": true})).into_response()
        }
        Ok(Action::Ignore(why)) => axum::Json(json!({"ignored": why})).into_response(),
        Err(e) => refused(e),
    }
}

/// Feedback is for a run this service made, on the repository the
/// delivery came from (a branch of the same name elsewhere is not it).
fn our_run(s: &crate::Service, t: &crate::queue::NewTask) -> Result<(), String> {
    let spec: serde_json::Value = serde_json::from_str(&t.spec).unwrap_or_default();
    let run_id = spec["run_id"].as_str().unwrap_or_default();
    let run = s
        .runs
        .run(run_id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no run `{run_id}` here"))?;
    // The run is this service's on that repository (or on a clone of it,
    // for a remote).
    let mapped = match s.config.repos.get(&t.repo) {
        Some(crate::RepoAt::Path(p)) => p.display().to_string() == run.repo,
        Some(crate::RepoAt::Url(_)) => s
            .queue
            .by_run(run_id)
            .ok()
            .flatten()
            .is_some_and(|q| q.repo == t.repo),
        None => false,
    };
    if !mapped {
        return Err(format!("run {run_id} is not on {}", t.repo));
    }
    Ok(())
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// `POST /hooks/slack`. Slack counts any answer but 200 as a failure and
/// retries, so work accepted, already accepted or ignored is a 200 (the
/// body says which: `outcome` is `queued`, `duplicate` or `linked`).
pub async fn slack(State(s): S, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = &s.config.slack_secret else {
        return not_configured("Slack requests", "--slack-secret-file");
    };
    let h = |name: &str| header_str(&headers, name);
    if let Err(e) = slack::verify(
        secret,
        h("x-slack-request-timestamp"),
        h("x-slack-signature"),
        &body,
        now_secs(),
    ) {
        return refused(e);
    }
    if let Some(n) = h("x-slack-retry-num") {
        tracing::info!(
            retry = n,
            reason = h("x-slack-retry-reason"),
            "a Slack retry"
        );
    }
    let content_type = h(header::CONTENT_TYPE.as_str()).unwrap_or("application/json");
    let command = content_type.starts_with("application/x-www-form-urlencoded");
    match slack::route(content_type, &body, &repos(&s)) {
        Ok(Action::Challenge(c)) => axum::Json(json!({"challenge": c})).into_response(),
        Ok(Action::Task(t)) => match accept(&s, t).await {
            Ok(e) => {
                let mut v = serde_json::to_value(&e).unwrap_or_default();
                if command {
                    // What the person who typed the command sees.
                    v["response_type"] = json!("ephemeral");
                    v["text"] = json!(match &e {
                        crate::queue::Enqueued::Queued { task_id } =>
                            format!("factory accepted this as task {task_id}"),
                        crate::queue::Enqueued::Duplicate { task_id } =>
                            format!("factory already has this as task {task_id}"),
                        crate::queue::Enqueued::Linked { task_id, .. } =>
                            format!("factory is already on this: task {task_id}"),
                    });
                }
                axum::Json(v).into_response()
            }
            Err(r) => r.into_response(),
        },
        Ok(Action::Pong) => axum::Json(json!({"pong": true})).into_response(),
        Ok(Action::Ignore(why)) => axum::Json(json!({"ignored": why})).into_response(),
        Err(e) => refused(e),
    }
}

/// `POST /hooks/alertmanager`: `Authorization: Bearer <token>` with the
/// Alertmanager token (`--alertmanager-token-file`), then each alert of the
/// notification on its own. 202 when one became a task; 400 when none of
/// them could be read.
pub async fn alertmanager(State(s): S, headers: HeaderMap, body: Bytes) -> Response {
    let Some(token) = &s.config.alertmanager_token else {
        return not_configured("Alertmanager notifications", "--alertmanager-token-file");
    };
    if !super::bearer(&headers).is_some_and(|given| super::same_secret(given, token)) {
        return error(
            StatusCode::UNAUTHORIZED,
            "this needs `Authorization: Bearer <token>` with the Alertmanager token (--alertmanager-token-file)".into(),
        );
    }
    let alerts = match alertmanager::route(&body, &repos(&s)) {
        Ok(a) => a,
        Err(e) => return refused(e),
    };
    let mut out = Vec::new();
    let (mut queued, mut readable) = (false, false);
    for a in alerts {
        out.push(match a {
            Ok(alertmanager::Alert::Firing(t)) => {
                readable = true;
                match accept(&s, t).await {
                    Ok(e) => {
                        queued |= matches!(e, crate::queue::Enqueued::Queued { .. });
                        serde_json::to_value(&e).unwrap_or_default()
                    }
                    Err(super::Refused::Spec(why)) => {
                        json!({"outcome": "refused", "error": format!("the spec cannot be read: {why}")})
                    }
                    Err(r) => return r.into_response(),
                }
            }
            Ok(alertmanager::Alert::Resolved { subject, note }) => {
                readable = true;
                match s.queue.annotate(&subject, &note) {
                    Ok(Some(id)) => json!({"outcome": "annotated", "task_id": id}),
                    Ok(None) => {
                        json!({"outcome": "ignored", "why": "no task was started for this alert"})
                    }
                    Err(e) => return internal(e),
                }
            }
            Err(e) => json!({"outcome": "refused", "error": e.to_string()}),
        });
    }
    let code = match (queued, readable) {
        (true, _) => StatusCode::ACCEPTED,
        (false, true) => StatusCode::OK,
        (false, false) if out.is_empty() => StatusCode::OK,
        (false, false) => StatusCode::BAD_REQUEST,
    };
    (code, axum::Json(json!({"alerts": out}))).into_response()
}
