//! The service's side of the scale-out (`factory serve --queue nats://`):
//! accepted tasks are published to the task stream; what workers report
//! is ingested into the service's database, fence by fence; dead letters
//! end their tasks as failed; workers' heartbeats say which trust levels
//! someone is serving.
//!
//! The SQLite queue stays the service's record of every task (the API,
//! the dashboard, dedupe); NATS carries the work.

use super::rows;
use super::wire::Event;
use super::worker::{HEARTBEATS, Heartbeat};
use super::{DEAD, EVENTS, Nats, NatsError, TASKS, TaskMessage, js_err};
use crate::queue::{FEEDBACK, TaskState};
use crate::worker::task_trust;
use crate::{RepoAt, Service};
use async_nats::jetstream::{self, consumer::pull};
use factory_orchestrator::config::Reach;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A worker not heard from for this long is gone.
const GONE: Duration = Duration::from_secs(10);

pub struct Link {
    pub nats: Nats,
    /// Wakes the publisher.
    publish: tokio::sync::Notify,
    /// Workers by name: what they take, when last heard.
    workers: Mutex<HashMap<String, (Heartbeat, Instant)>>,
}

/// The service's durable consumers.
const CONSUMER: &str = "service";

const PUBLISHED: &str = "CREATE TABLE IF NOT EXISTS serve_published(
    task_id TEXT PRIMARY KEY, trust TEXT NOT NULL, at INTEGER NOT NULL)";

impl Link {
    /// Connect and set up the streams, consumers and bucket.
    pub async fn open(
        url: &str,
        creds: Option<&std::path::Path>,
        settings: &super::Settings,
    ) -> Result<Arc<Link>, NatsError> {
        let nats = Nats::connect(url, creds).await?;
        nats.ensure(settings).await?;
        Ok(Arc::new(Link {
            nats,
            publish: tokio::sync::Notify::new(),
            workers: Mutex::new(HashMap::new()),
        }))
    }

    /// A task was queued: publish it now.
    pub fn publish_soon(&self) {
        self.publish.notify_one();
    }

    /// Why a queued task at `trust` is not taken, if no live worker takes
    /// that level.
    pub fn waiting(&self, trust: Reach) -> Option<String> {
        let workers = self.workers.lock().unwrap_or_else(|p| p.into_inner());
        let live: Vec<Reach> = workers
            .values()
            .filter(|(_, at)| at.elapsed() < GONE)
            .filter_map(|(h, _)| Reach::parse(&h.max_trust))
            .collect();
        if live.iter().any(|m| *m >= trust) {
            return None;
        }
        let best = live.iter().max().map(|r| r.name());
        Some(match best {
            Some(b) => format!(
                "waiting for a capable worker: it needs trust {}, the workers take up to {b}",
                trust.name()
            ),
            None => format!(
                "waiting for a capable worker: it needs trust {}, and no worker is connected",
                trust.name()
            ),
        })
    }

    /// The trust a queued task was published at.
    pub fn trust_of(s: &Service, t: &crate::queue::QueuedTask) -> Reach {
        task_trust(t.trust.as_deref(), s.config.max_trust)
    }

    /// Start publishing, ingesting, watching dead letters and heartbeats.
    pub fn spawn(self: &Arc<Self>, s: &Arc<Service>) {
        tokio::spawn(publisher(self.clone(), s.clone()));
        tokio::spawn(ingester(self.clone(), s.clone()));
        tokio::spawn(dead_letters(self.clone(), s.clone()));
        tokio::spawn(heartbeats(self.clone()));
    }
}

fn db(s: &Service) -> Result<rusqlite::Connection, rusqlite::Error> {
    let conn = factory_store::db::open(&s.host.home().db_path())?;
    factory_orchestrator::store::migrate(&conn)?;
    conn.execute_batch(PUBLISHED)?;
    conn.execute_batch(rows::INGESTED)?;
    Ok(conn)
}

/// Publish every queued task not yet published (at start, and whenever a
/// task is queued); a failed publish is tried again.
async fn publisher(link: Arc<Link>, s: Arc<Service>) {
    // One connection for the service's life.
    let mut conn: Option<Mutex<rusqlite::Connection>> = None;
    loop {
        if conn.is_none() {
            match db(&s) {
                Ok(c) => conn = Some(Mutex::new(c)),
                Err(e) => tracing::warn!("cannot open the queue to publish from: {e}"),
            }
        }
        if let Some(c) = &conn
            && let Err(e) = publish_queued(&link, &s, c).await
        {
            tracing::warn!("cannot publish queued tasks yet: {e}");
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), link.publish.notified()).await;
    }
}

async fn publish_queued(
    link: &Link,
    s: &Service,
    conn: &Mutex<rusqlite::Connection>,
) -> Result<(), String> {
    let ids: Vec<String> = {
        let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut st = conn
            .prepare_cached(
                "SELECT id FROM serve_tasks WHERE state='queued'
                 AND id NOT IN (SELECT task_id FROM serve_published) ORDER BY rowid",
            )
            .map_err(|e| e.to_string())?;
        st.query_map([], |r| r.get(0))
            .map_err(|e| e.to_string())?
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?
    };
    for id in ids {
        let Some(t) = s.queue.get(&id).map_err(|e| e.to_string())? else {
            continue;
        };
        if t.format == FEEDBACK {
            let _ = s.queue.dead_letter(
                &id,
                "review feedback is applied by the service's own workers (the embedded queue), not over NATS",
            );
            continue;
        }
        let Some(at) = s.config.repos.get(&t.repo) else {
            let _ = s
                .queue
                .dead_letter(&id, &format!("repository `{}` is no longer mapped", t.repo));
            continue;
        };
        let run_id = s
            .queue
            .assign_run(&id, &factory_orchestrator::new_run_id())
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        let trust = Link::trust_of(s, &t);
        let message = TaskMessage {
            task_id: id.clone(),
            repo: t.repo.clone(),
            repo_url: RepoAt::url(at),
            format: t.format.clone(),
            spec: t.spec.clone(),
            title: t.title.clone(),
            trust: trust.name().into(),
            run_id,
        };
        link.nats
            .publish_task(&message)
            .await
            .map_err(|e| e.to_string())?;
        conn.lock()
            .unwrap_or_else(|p| p.into_inner())
            .execute(
                "INSERT OR IGNORE INTO serve_published(task_id, trust, at) VALUES(?1,?2,?3)",
                rusqlite::params![id, trust.name(), factory_store::db::now_ms()],
            )
            .map_err(|e| e.to_string())?;
        tracing::info!(task = %id, trust = trust.name(), "task published");
    }
    Ok(())
}

/// Take in what workers report, in stream order, acknowledging each once
/// it is in the database.
async fn ingester(link: Arc<Link>, s: Arc<Service>) {
    loop {
        if let Err(e) = ingest(&link, &s).await {
            tracing::warn!("the events stream: {e}; reading again");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn durable(
    nats: &Nats,
    stream: &str,
) -> Result<jetstream::consumer::Consumer<pull::Config>, NatsError> {
    nats.js
        .get_stream(stream)
        .await
        .map_err(js_err)?
        .get_or_create_consumer(
            CONSUMER,
            pull::Config {
                durable_name: Some(CONSUMER.into()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ..Default::default()
            },
        )
        .await
        .map_err(js_err)
}

async fn ingest(link: &Link, s: &Arc<Service>) -> Result<(), String> {
    let consumer = durable(&link.nats, EVENTS)
        .await
        .map_err(|e| e.to_string())?;
    let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
    let conn = Mutex::new(db(s).map_err(|e| e.to_string())?);
    while let Some(m) = messages.next().await {
        let m = m.map_err(|e| e.to_string())?;
        match serde_json::from_slice::<Event>(&m.payload) {
            Ok(e) => {
                if let Err(why) = apply(link, s, &conn, e).await {
                    tracing::warn!("a worker's report was refused: {why}");
                }
            }
            Err(e) => tracing::warn!("a report on the events stream is not one: {e}"),
        }
        let _ = m.ack().await;
    }
    Ok(())
}

/// Take one report in, if its fence is the task's newest claim.
async fn apply(
    link: &Link,
    s: &Service,
    conn: &Mutex<rusqlite::Connection>,
    e: Event,
) -> Result<(), String> {
    let o = e.origin().clone();
    let task = s
        .queue
        .get(&o.task_id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no task `{}`", o.task_id))?;
    if task.run_id.as_deref() != Some(o.run_id.as_str()) {
        return Err(format!(
            "{} reported for run {} of task {}, which is not that task's run",
            o.worker, o.run_id, o.task_id
        ));
    }
    if let Event::Claim { .. } = e {
        // The fence is the bucket's: a worker cannot make one up.
        let entry = link
            .nats
            .leases()
            .await
            .map_err(|e| e.to_string())?
            .get(&o.task_id)
            .await
            .map_err(|e| e.to_string())?;
        if entry.is_none_or(|(l, _)| l.fence < o.fence) {
            return Err(format!(
                "{} claimed task {} with fence {}, which the lease bucket never gave",
                o.worker, o.task_id, o.fence
            ));
        }
        if !s
            .queue
            .remote_claim(&o.task_id, &o.worker, o.fence)
            .map_err(|e| e.to_string())?
        {
            return Err(format!(
                "{}'s claim of task {} (fence {}) is older than the last, or the task ended",
                o.worker, o.task_id, o.fence
            ));
        }
        // Who runs it now, in the run's journal (and the live stream).
        let message = match &task.worker {
            Some(before) if before != &o.worker => format!(
                "task {} taken over by worker {} from {before} (fence {})",
                o.task_id, o.worker, o.fence
            ),
            _ => format!(
                "task {} claimed by worker {} (fence {})",
                o.task_id, o.worker, o.fence
            ),
        };
        s.host.journal().event(factory_store::journal::EventRecord {
            run_id: Some(o.run_id.clone()),
            capability: "scale-out".into(),
            target: o.worker.clone(),
            ..factory_store::journal::EventRecord::new("service", "claim", message)
        });
        // Committed before the claim is acknowledged (the journal writes in
        // batches): a service killed right after still has it.
        let host = s.host.clone();
        let _ = tokio::task::spawn_blocking(move || host.journal().flush()).await;
        return Ok(());
    }
    let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
    let fence = current_fence(&conn, &o.task_id)?;
    if fence != o.fence || task.state != TaskState::Running {
        return Err(format!(
            "{} wrote to task {} with fence {}; the task's lease is fence {fence} ({})",
            o.worker,
            o.task_id,
            o.fence,
            task.state.as_str()
        ));
    }
    match e {
        Event::Claim { .. } => Ok(()),
        Event::Rows { table, rows, .. } => {
            let writer = format!("{}/{}", o.worker, o.fence);
            rows::write(&conn, &table, &o.run_id, &rows, Some(&writer))
                .map(|_| ())
                .map_err(|e| format!("{}'s rows: {e}", o.worker))
        }
        Event::Attempt { reason, .. } => s
            .queue
            .note(
                &o.task_id,
                &format!("attempt on {} failed: {reason}", o.worker),
            )
            .map_err(|e| e.to_string()),
        Event::Finished { state, reason, .. } => {
            let state = TaskState::reported(&state);
            s.queue
                .remote_end(
                    &o.task_id,
                    o.fence,
                    state,
                    &format!("{reason} (on {})", o.worker),
                )
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    }
}

fn current_fence(conn: &rusqlite::Connection, task: &str) -> Result<u64, String> {
    conn.query_row("SELECT fence FROM serve_tasks WHERE id=?1", [task], |r| {
        r.get::<_, i64>(0)
    })
    .map(|f| f as u64)
    .map_err(|e| e.to_string())
}

/// A task NATS gave up on (its deliveries ran out) ends as failed, with
/// the reason; then it leaves the stream.
async fn dead_letters(link: Arc<Link>, s: Arc<Service>) {
    loop {
        if let Err(e) = watch_dead(&link, &s).await {
            tracing::warn!("the dead-letter stream: {e}; reading again");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn watch_dead(link: &Link, s: &Service) -> Result<(), String> {
    let consumer = durable(&link.nats, DEAD).await.map_err(|e| e.to_string())?;
    let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
    let tasks = link
        .nats
        .js
        .get_stream(TASKS)
        .await
        .map_err(|e| e.to_string())?;
    while let Some(m) = messages.next().await {
        let m = m.map_err(|e| e.to_string())?;
        let a: serde_json::Value = serde_json::from_slice(&m.payload).unwrap_or_default();
        let seq = a["stream_seq"].as_u64().unwrap_or(0);
        let deliveries = a["deliveries"].as_u64().unwrap_or(0);
        match tasks.get_raw_message(seq).await {
            Ok(raw) => {
                let task: Option<TaskMessage> = serde_json::from_slice(&raw.payload).ok();
                let id = task.map(|t| t.task_id);
                let last = id
                    .as_deref()
                    .and_then(|id| s.queue.get(id).ok().flatten())
                    .and_then(|t| t.notes.last().map(|n| n.note.clone()));
                let reason = format!(
                    "dead letter: no worker ended it in {deliveries} deliveries{}",
                    last.map(|l| format!(" (last: {l})")).unwrap_or_default()
                );
                match &id {
                    Some(id) => {
                        s.queue
                            .dead_letter(id, &reason)
                            .map_err(|e| e.to_string())?;
                        tracing::error!(task = %id, "{reason}");
                    }
                    None => tracing::error!(seq, "{reason}: a message that is not a task"),
                }
                // Recorded: now it may leave the stream.
                let _ = tasks.delete_message(seq).await;
            }
            // Gone already (recorded by an earlier pass).
            Err(e) => tracing::info!(seq, "dead letter no longer in the stream: {e}"),
        }
        let _ = m.ack().await;
    }
    Ok(())
}

async fn heartbeats(link: Arc<Link>) {
    loop {
        let Ok(mut sub) = link.nats.client.subscribe(format!("{HEARTBEATS}.*")).await else {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        while let Some(m) = sub.next().await {
            if let Ok(h) = serde_json::from_slice::<Heartbeat>(&m.payload) {
                link.workers
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(h.name.clone(), (h, Instant::now()));
            }
        }
    }
}
