//! What changes, as it changes: a tail of the journal's events, every
//! run's steps and the queue's tasks, read from the database (so it shows
//! what any process wrote there) and broadcast to the SSE clients.

use crate::Service;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::broadcast;

/// How often the tail looks for what is new.
pub const TICK: Duration = Duration::from_millis(200);
/// Events kept for a slow client before it is told it missed some.
const BACKLOG: usize = 4096;

/// One change.
#[derive(Clone, Debug, Serialize)]
pub struct LiveEvent {
    /// `journal`, `step` or `task`: the SSE event name.
    #[serde(skip)]
    pub kind: &'static str,
    pub run_id: Option<String>,
    pub data: Value,
}

impl LiveEvent {
    /// `what` as JSON, with `id` and `run_id` beside its own fields.
    fn with_id(
        kind: &'static str,
        run_id: Option<String>,
        id: i64,
        what: &impl Serialize,
    ) -> LiveEvent {
        let mut data = serde_json::to_value(what).unwrap_or_default();
        data["id"] = json!(id);
        data["run_id"] = json!(run_id);
        LiveEvent { kind, run_id, data }
    }

    /// A step of run `run`'s timeline.
    pub fn step(run: &str, step: &factory_orchestrator::store::StepRow) -> LiveEvent {
        LiveEvent::with_id("step", Some(run.to_string()), step.id, step)
    }
}

pub fn channel() -> broadcast::Sender<LiveEvent> {
    broadcast::channel(BACKLOG).0
}

/// Start the tail; it ends when the service does.
pub fn spawn(s: &Arc<Service>) {
    let weak = Arc::downgrade(s);
    let db = s.host.home().db_path();
    let started = std::thread::Builder::new()
        .name("factory-live".into())
        .spawn(move || {
            if let Err(e) = tail(weak, &db) {
                tracing::error!("the live view stopped: {e}");
            }
        });
    if let Err(e) = started {
        tracing::error!("cannot start the live view: {e}");
    }
}

fn tail(weak: Weak<Service>, db: &std::path::Path) -> Result<(), String> {
    let text = |e: &dyn std::fmt::Display| e.to_string();
    let conn = factory_store::db::open(db).map_err(|e| text(&e))?;
    let mut last_event = factory_store::journal::last_event_id(&conn).map_err(|e| text(&e))?;
    let (mut last_step, mut since) = {
        let Some(s) = weak.upgrade() else {
            return Ok(());
        };
        (
            s.runs.last_step_id().map_err(|e| text(&e))?,
            factory_store::db::now_ms(),
        )
    };
    // Changes at exactly `since` already sent (ms can repeat).
    let mut sent_at_since: HashSet<(String, i64)> = HashSet::new();
    loop {
        std::thread::sleep(TICK);
        let Some(s) = weak.upgrade() else {
            return Ok(());
        };
        let send = |e: LiveEvent| {
            let _ = s.live.send(e);
        };
        for (id, e) in
            factory_store::journal::events_since(&conn, last_event, 1000).map_err(|e| text(&e))?
        {
            last_event = id;
            send(LiveEvent::with_id("journal", e.run_id.clone(), id, &e));
        }
        for (run, step) in s.runs.steps_since(last_step, 1000).map_err(|e| text(&e))? {
            last_step = step.id;
            send(LiveEvent::step(&run, &step));
        }
        for t in s.queue.changed_since(since, 1000).map_err(|e| text(&e))? {
            let key = (t.id.clone(), t.updated);
            if t.updated == since && sent_at_since.contains(&key) {
                continue;
            }
            if t.updated > since {
                since = t.updated;
                sent_at_since.clear();
            }
            sent_at_since.insert(key);
            send(LiveEvent {
                kind: "task",
                run_id: t.run_id.clone(),
                data: serde_json::to_value(&t).unwrap_or_default(),
            });
        }
    }
}
