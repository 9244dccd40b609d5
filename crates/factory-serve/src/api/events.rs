//! `GET /api/events[?run=ID]`: Server-Sent Events. Each event is named
//! for what changed (`journal`: a journal event; `step`: a run's timeline
//! step; `task`: a task's state) and carries it as JSON. With `?run=ID`
//! only that run's events come, its steps so far first.

use super::{S, internal, query};
use crate::live::LiveEvent;
use axum::extract::{RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream, StreamExt};
use std::convert::Infallible;
use tokio::sync::broadcast::{self, error::RecvError};

fn sse(e: &LiveEvent) -> Event {
    Event::default()
        .event(e.kind)
        .data(serde_json::to_string(&e.data).unwrap_or_default())
}

fn live(
    rx: broadcast::Receiver<LiveEvent>,
    run: Option<String>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold((rx, run), |(mut rx, run)| async move {
        loop {
            match rx.recv().await {
                Ok(e) => {
                    if run.is_none() || e.run_id == run {
                        return Some((Ok(sse(&e)), (rx, run)));
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    let missed = Event::default()
                        .event("lagged")
                        .data(format!("{{\"missed\":{n}}}"));
                    return Some((Ok(missed), (rx, run)));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

pub async fn stream(State(s): S, RawQuery(raw): RawQuery) -> Response {
    let run = query(raw)
        .into_iter()
        .find(|(k, _)| k == "run")
        .map(|(_, v)| v);
    // Subscribe before reading the backlog, so nothing falls between.
    let rx = s.live.subscribe();
    let mut backlog = Vec::new();
    if let Some(id) = &run {
        match s.runs.steps(id) {
            Ok(steps) => {
                for st in steps {
                    backlog.push(Ok(sse(&LiveEvent::step(id, &st))));
                }
            }
            Err(e) => return internal(e),
        }
    }
    let hello = Event::default()
        .event("hello")
        .data(serde_json::json!({"run": run, "events": ["journal", "step", "task"]}).to_string());
    let body = stream::iter(std::iter::once(Ok(hello)).chain(backlog)).chain(live(rx, run));
    Sse::new(body)
        .keep_alive(KeepAlive::default())
        .into_response()
}
