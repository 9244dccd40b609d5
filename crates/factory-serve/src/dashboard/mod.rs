//! The dashboard: server-rendered HTML from this binary, no build step and
//! no external assets. Every page works with JavaScript off (forms post,
//! the server redirects back); with it on, the page follows
//! `/api/events` and redraws itself as runs move.
//!
//! - `GET /`: the queue, runs in flight with their timelines, the
//!   approvals inbox, costs, recent denials, the trust report.
//! - `GET /runs/{id}`: one run: its timeline, costs per role, gates, diff
//!   and the decision buttons.
//! - `POST /runs/{id}/approve|reject|cancel`: the buttons' forms.
//! - `GET|POST /login`: the sign-in page, which sets the token as an
//!   HttpOnly, SameSite=Strict cookie (the API takes the bearer header).

mod html;
mod index;
mod run;
mod timeline;

use crate::Service;
use crate::api::{COOKIE, S, authorized};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use html::esc;
use std::sync::Arc;

pub fn router(s: Arc<Service>) -> Router<Arc<Service>> {
    let pages = Router::new()
        .route("/", get(index::show))
        .route("/runs/{id}", get(run::show))
        .route("/runs/{id}/approve", post(approve))
        .route("/runs/{id}/reject", post(reject))
        .route("/runs/{id}/cancel", post(cancel))
        .layer(middleware::from_fn_with_state(s, require_sign_in));
    Router::new()
        .route("/login", get(login_page).post(login))
        .merge(pages)
}

/// Signed in (the bearer header or the cookie), and for a form post, sent
/// from this dashboard (a browser names the page's origin; another site's
/// page cannot post here).
async fn require_sign_in(State(s): S, req: Request, next: Next) -> Response {
    if !authorized(&s, req.headers()) {
        return (StatusCode::UNAUTHORIZED, Html(sign_in_html(""))).into_response();
    }
    if req.method() == axum::http::Method::POST && !same_origin(req.headers()) {
        return (
            StatusCode::FORBIDDEN,
            Html(page(
                "Refused",
                "",
                "<main><p>This form was sent from another site.</p></main>",
            )),
        )
            .into_response();
    }
    next.run(req).await
}

fn same_origin(h: &HeaderMap) -> bool {
    let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // Not a browser's cross-site form (those name their origin).
        return h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) != Some("cross-site");
    };
    let host = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest == host)
}

fn sign_in_html(message: &str) -> String {
    page(
        "Sign in",
        "",
        &format!(
            "<main><h1>factory</h1><p>This dashboard needs the service's token (the file given to <code>--token-file</code>).</p>{}\
             <form method=post action=/login><label>Token <input type=password name=token autocomplete=current-password required></label> \
             <button type=submit>Sign in</button></form></main>",
            if message.is_empty() {
                String::new()
            } else {
                format!("<p class=failed>{}</p>", esc(message))
            }
        ),
    )
}

async fn login_page() -> Response {
    Html(sign_in_html("")).into_response()
}

async fn login(State(s): S, body: Bytes) -> Response {
    let token = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if !crate::api::same_secret(&token, &s.config.token) || token.contains(';') {
        return (
            StatusCode::UNAUTHORIZED,
            Html(sign_in_html("That is not the service's token.")),
        )
            .into_response();
    }
    let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
    let mut r = Redirect::to("/").into_response();
    if let Ok(v) = cookie.parse() {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// Back to the run's page, with what happened.
fn back(id: &str, outcome: Result<String, String>) -> Response {
    let (k, v) = match outcome {
        Ok(m) => ("done", m),
        Err(m) => ("error", m),
    };
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(k, &v)
        .finish();
    Redirect::to(&format!("/runs/{}?{q}", urlencode(id))).into_response()
}

pub(crate) fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn approve(State(s): S, Path(id): Path<String>) -> Response {
    use factory_orchestrator::approve::Approved;
    back(
        &id,
        match s.approve(&id, "the dashboard").await {
            Ok(Approved::Merged { target, commit, .. }) => Ok(format!(
                "approved: merged into {target} at {}",
                html::short(&commit)
            )),
            Ok(Approved::AlreadyMerged { target, commit }) => Ok(format!(
                "already merged into {target} at {}",
                html::short(&commit)
            )),
            Err(e) => Err(e.to_string()),
        },
    )
}

async fn reject(State(s): S, Path(id): Path<String>, body: Bytes) -> Response {
    let reason = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "reason")
        .map(|(_, v)| crate::api::runs::reason_of(v.as_bytes()))
        .unwrap_or_default();
    back(
        &id,
        factory_orchestrator::approve::reject(&s.host, &id, "the dashboard", &reason)
            .await
            .map(|()| "rejected: it will not be merged".to_string())
            .map_err(|e| e.to_string()),
    )
}

async fn cancel(State(s): S, Path(id): Path<String>) -> Response {
    back(
        &id,
        s.cancel_run(&id, "the dashboard")
            .await
            .map(|_| "cancelled".to_string())
            .map_err(|e| e.to_string()),
    )
}

const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}\
header{background:#1f2933;color:#fff;padding:.6em 1.5em;display:flex;gap:1.5em;align-items:baseline}\
header a{color:#fff;text-decoration:none;font-weight:600}#live{font-size:12px;color:#9aa5b1}#live.on{color:#7bd88f}\
main{padding:1em 1.5em;max-width:1300px}h1{font-size:1.35em}h2{font-size:1.1em;margin-top:1.6em;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;width:100%;background:#fff}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}\
.ok,.passed,.done,.merged{color:#176f2c}.failed,.blocked,.conflict,.denial,.cancelled,.rejected{color:#b3261e}.draft,.queued,.running{color:#8a5a00}\
pre{background:#f6f8fa;padding:.8em;overflow:auto;font-size:12px;max-height:30em}.add{color:#176f2c}.del{color:#b3261e}.meta{color:#666;font-size:12px}\
.card{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:.6em 1em;margin:.8em 0}\
button{font:inherit;padding:.25em .9em;border-radius:4px;border:1px solid #888;background:#fff;cursor:pointer}\
button.approve{background:#176f2c;color:#fff;border-color:#176f2c}button.reject{background:#fff;color:#b3261e;border-color:#b3261e}\
form.inline{display:inline}.notice{padding:.5em 1em;border-radius:4px;background:#e8f5e9}.notice.error{background:#fdecea}\
svg.timeline{background:#fff;border:1px solid #e3e3e3;width:100%;height:auto}svg text{font:11px system-ui,sans-serif}";

/// Follows `/api/events` (this run's, on a run page) and redraws `<main>`
/// from the page itself a moment after something changed.
const JS: &str = "(function(){if(!window.EventSource||!window.fetch)return;\
var run=document.body.getAttribute('data-run');var live=document.getElementById('live');\
var es=new EventSource('/api/events'+(run?'?run='+encodeURIComponent(run):''));var t=null;\
es.onopen=function(){live.textContent='live';live.className='on';};\
es.onerror=function(){live.textContent='reconnecting';live.className='';};\
function redraw(){fetch(location.pathname,{credentials:'same-origin'}).then(function(r){return r.text();}).then(function(h){\
var d=new DOMParser().parseFromString(h,'text/html');var m=d.querySelector('main');var o=document.querySelector('main');\
if(m&&o){o.replaceWith(m);document.body.setAttribute('data-redrawn',String(Date.now()));}});}\
['step','task','journal'].forEach(function(k){es.addEventListener(k,function(){clearTimeout(t);t=setTimeout(redraw,250);});});})();";

/// A whole page: `body` holds its `<main>`; `run` names the run a run page
/// follows.
pub(crate) fn page(title: &str, run: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>{} · factory</title><style>{CSS}</style></head><body data-run=\"{}\">\
         <header><a href=/>factory</a><span>{}</span><span id=live>static</span></header>{body}<script>{JS}</script></body></html>",
        esc(title),
        esc(run),
        esc(title)
    )
}
