//! `factory worker`: pull tasks from JetStream, run them with this
//! machine's sandbox, plugins, models and operator policy, and report back
//! on the events stream (docs/scale-out.md).
//!
//! Per task: take its lease (compare-and-swap, a new fence), claim it on
//! the events stream, rebuild what an earlier holder did from that stream
//! and the remote's checkpoint refs, run or resume the run in a worktree of
//! a cached clone, keep the message and the lease alive while it runs, and
//! publish the run's rows as they are written. At the end: the finished
//! event, the lease let go, the message acknowledged. A worker that dies
//! stops renewing; NATS delivers the task again after the ack wait and the
//! next worker resumes the run where the journal says it was.

use super::lease::{LeaseError, Leases};
use super::rows::{self, TABLES};
use super::wire::{self, Event, Fences, Origin};
use super::{LEVELS, Nats, NatsError, TaskMessage, js_err};
use crate::worker::task_trust;
use async_nats::jetstream::{self, AckKind};
use factory_orchestrator::config::Reach;
use factory_orchestrator::git::remote;
use factory_orchestrator::progress::ProgressSink;
use factory_orchestrator::state::RunStatus;
use factory_orchestrator::{self as orchestrator, RunOptions};
use factory_store::Host;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// What `factory worker` is told.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// `nats://HOST:PORT`.
    pub url: String,
    pub creds: Option<PathBuf>,
    /// Tasks at once.
    pub concurrency: usize,
    /// The most trust a task run here may have: only the consumers of
    /// levels up to it are pulled.
    pub max_trust: Reach,
    /// This worker's name, on its events and leases.
    pub name: String,
}

/// Where workers say they are alive (`factory.workers.<name>`).
pub const HEARTBEATS: &str = "factory.workers";
/// How often a worker says so.
pub const HEARTBEAT: Duration = Duration::from_secs(3);

/// A worker's heartbeat.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Heartbeat {
    pub name: String,
    pub max_trust: String,
    pub concurrency: usize,
    pub running: usize,
}

/// A name usable in a subject and a lease: letters, digits, `-`, `_`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

struct Worker {
    host: Host,
    cfg: WorkerConfig,
    nats: Nats,
    leases: Leases,
    /// How long a delivery waits for an ack: the lease lasts as long.
    ack_wait: Duration,
    running: AtomicUsize,
}

/// Run the worker until the process ends. Waits for the service to have
/// set up the streams (a worker never creates them: their settings are
/// the service's).
pub async fn run(host: Host, cfg: WorkerConfig) -> Result<(), NatsError> {
    let nats = Nats::connect(&cfg.url, cfg.creds.as_deref()).await?;
    let mut said = false;
    let (leases, ack_wait) = loop {
        match ready(&nats).await {
            Ok(r) => break r,
            Err(e) => {
                if !said {
                    tracing::warn!("waiting for `factory serve --queue` to set up NATS: {e}");
                    said = true;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    let w = Arc::new(Worker {
        host,
        cfg,
        nats,
        leases,
        ack_wait,
        running: AtomicUsize::new(0),
    });
    tracing::info!(worker = %w.cfg.name, max_trust = w.cfg.max_trust.name(), "worker ready");
    tokio::spawn(heartbeats(w.clone()));
    let permits = Arc::new(tokio::sync::Semaphore::new(w.cfg.concurrency.max(1)));
    let levels: Vec<Reach> = LEVELS
        .into_iter()
        .filter(|l| *l <= w.cfg.max_trust)
        .collect();
    pull(w, levels, permits).await;
    Ok(())
}

async fn ready(nats: &Nats) -> Result<(Leases, Duration), NatsError> {
    let leases = nats.leases().await?;
    let mut c = nats.consumer(Reach::ReadOnly).await?;
    let info = c.info().await.map_err(js_err)?;
    nats.js.get_stream(super::EVENTS).await.map_err(js_err)?;
    Ok((leases, info.config.ack_wait))
}

async fn heartbeats(w: Arc<Worker>) {
    let subject = format!("{HEARTBEATS}.{}", w.cfg.name);
    loop {
        let beat = Heartbeat {
            name: w.cfg.name.clone(),
            max_trust: w.cfg.max_trust.name().into(),
            concurrency: w.cfg.concurrency,
            running: w.running.load(Ordering::Relaxed),
        };
        if let Ok(body) = serde_json::to_vec(&beat) {
            let _ = w.nats.client.publish(subject.clone(), body.into()).await;
        }
        tokio::time::sleep(HEARTBEAT).await;
    }
}

/// How long one pull waits on one level before the next level is asked.
const POLL: Duration = Duration::from_millis(100);

/// Pull tasks, one per free slot, from the levels this worker takes, the
/// highest first. A pull is pending nearly all the time while a slot is
/// free (NATS only names a dead letter while someone asks), and no level
/// waits behind an idle one for more than [`POLL`].
async fn pull(w: Arc<Worker>, levels: Vec<Reach>, permits: Arc<tokio::sync::Semaphore>) {
    let mut consumers = HashMap::new();
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let mut got = None;
        while got.is_none() {
            for level in levels.iter().rev() {
                match next(&w, &mut consumers, *level).await {
                    Ok(Some(m)) => {
                        got = Some((m, *level));
                        break;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        consumers.remove(level.name());
                        tracing::warn!(level = level.name(), "cannot pull tasks: {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        }
        let Some((m, level)) = got else { continue };
        let w = w.clone();
        tokio::spawn(async move {
            w.running.fetch_add(1, Ordering::Relaxed);
            handle(&w, m, level).await;
            w.running.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
}

/// The next task on `level`'s consumer within [`POLL`], if any.
async fn next(
    w: &Worker,
    consumers: &mut HashMap<
        &'static str,
        jetstream::consumer::Consumer<jetstream::consumer::pull::Config>,
    >,
    level: Reach,
) -> Result<Option<jetstream::Message>, NatsError> {
    if !consumers.contains_key(level.name()) {
        consumers.insert(level.name(), w.nats.consumer(level).await?);
    }
    let c = &consumers[level.name()];
    let mut batch = c
        .fetch()
        .max_messages(1)
        .expires(POLL)
        .messages()
        .await
        .map_err(js_err)?;
    batch.next().await.transpose().map_err(js_err)
}

/// Why a task was not run to its end here.
enum NotRun {
    /// Another worker holds it, or took it meanwhile: nothing to report.
    Elsewhere(String),
    /// This attempt failed before the run could go (a clone, a setup): the
    /// task is delivered again, up to the limit, then a dead letter.
    Attempt(String),
}

async fn handle(w: &Arc<Worker>, msg: jetstream::Message, level: Reach) {
    let delivered = msg.info().map(|i| i.delivered).unwrap_or(0);
    let task: TaskMessage = match serde_json::from_slice(&msg.payload) {
        Ok(t) => t,
        Err(e) => {
            // Not the service's: left to reach the dead letters (where it
            // is reported), never run.
            tracing::error!("a task message that is not one: {e}");
            let _ = msg.ack_with(AckKind::Nak(Some(w.ack_wait))).await;
            return;
        }
    };
    tracing::info!(task = %task.task_id, run = %task.run_id, delivered, "task pulled");
    match take(w, &msg, &task, level).await {
        Ok(()) => {}
        Err(NotRun::Elsewhere(why)) => {
            tracing::info!(task = %task.task_id, "{why}");
            let _ = msg.ack_with(AckKind::Nak(Some(w.ack_wait))).await;
        }
        Err(NotRun::Attempt(why)) => {
            tracing::warn!(task = %task.task_id, delivered, "attempt failed: {why}");
            let _ = msg
                .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                .await;
        }
    }
}

async fn take(
    w: &Arc<Worker>,
    msg: &jetstream::Message,
    task: &TaskMessage,
    level: Reach,
) -> Result<(), NotRun> {
    let attempt = NotRun::Attempt;
    // The message is data: it never raises trust above the subject it came
    // on, nor above this worker's.
    let ceiling = if level < w.cfg.max_trust {
        level
    } else {
        w.cfg.max_trust
    };
    let trust = task_trust(Some(&task.trust), ceiling);
    if !orchestrator::valid_run_id(&task.run_id) {
        return Err(attempt(format!("`{}` is not a run id", task.run_id)));
    }
    remote::check_url(&task.repo_url).map_err(attempt)?;
    let lease = match w
        .leases
        .acquire(&task.task_id, &w.cfg.name, w.ack_wait)
        .await
    {
        Ok(l) => l,
        Err(LeaseError::Held { worker, .. }) if worker == super::lease::CANCELLED => {
            // Cancelled at the service: never run, never delivered again.
            tracing::info!(task = %task.task_id, "cancelled; not run");
            // (An ack, not a term: it leaves the work queue now.)
            let _ = msg.double_ack().await;
            return Ok(());
        }
        Err(e @ (LeaseError::Held { .. } | LeaseError::Raced(_))) => {
            return Err(NotRun::Elsewhere(e.to_string()));
        }
        Err(LeaseError::Nats(e)) => return Err(attempt(e.to_string())),
    };
    let origin = Origin {
        task_id: task.task_id.clone(),
        run_id: task.run_id.clone(),
        worker: w.cfg.name.clone(),
        fence: lease.fence,
    };
    // Keep the message and the lease alive from now until the end is
    // reported (through a NATS restart: reports are retried meanwhile).
    let stop = Arc::new(Stop::default());
    let keeper = {
        let (w, stop, mut lease, acker) = (w.clone(), stop.clone(), lease.clone(), msg.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(w.ack_wait / 3).await;
                let _ = acker.ack_with(AckKind::Progress).await;
                match w.leases.renew(&mut lease, w.ack_wait).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(task = %lease.task_id, "lease lost (taken over or cancelled): the run stops here");
                        stop.lose();
                        return;
                    }
                    Err(e) => tracing::warn!(task = %lease.task_id, "cannot renew the lease: {e}"),
                }
            }
        })
    };
    let outcome = async {
        let claimed = publish_surely(
            w,
            &Event::Claim {
                origin: origin.clone(),
            },
            &stop,
        )
        .await?;
        run_task(w, task, trust, &origin, claimed, &stop).await
    }
    .await;
    let ended = match outcome {
        Ok(_)
            if !w
                .leases
                .holds(&task.task_id, origin.fence)
                .await
                .unwrap_or(false) =>
        {
            // Taken over or cancelled meanwhile: the holder now ends it.
            Err(NotRun::Elsewhere(
                "the lease was lost before the end".into(),
            ))
        }
        Ok((state, reason)) => {
            let fin = Event::Finished {
                origin: origin.clone(),
                state: state.into(),
                reason: reason.clone(),
            };
            match publish_surely(w, &fin, &stop).await {
                Ok(_) => {
                    tracing::info!(task = %task.task_id, state, "{reason}");
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        Err(NotRun::Attempt(why)) => {
            let report = Event::Attempt {
                origin: origin.clone(),
                reason: why.clone(),
            };
            let _ = publish(w, &report).await;
            Err(NotRun::Attempt(why))
        }
        Err(e) => Err(e),
    };
    keeper.abort();
    if !stop.is_lost() {
        let _ = w.leases.release_fence(&task.task_id, origin.fence).await;
    }
    if ended.is_ok()
        && let Err(e) = msg.double_ack().await
    {
        tracing::warn!(task = %task.task_id, "the ack was not confirmed ({e}); a redelivery finds the run ended");
    }
    ended
}

/// Why a task's run must stop: its lease was lost (another worker has it,
/// or the service cancelled it).
#[derive(Default)]
struct Stop {
    lost: std::sync::atomic::AtomicBool,
    wake: tokio::sync::Notify,
}

impl Stop {
    fn lose(&self) {
        self.lost.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
        self.wake.notify_one();
    }

    fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }
}

/// Publish `e`, trying again while NATS is away, for as long as the lease
/// holds.
async fn publish_surely(w: &Worker, e: &Event, stop: &Stop) -> Result<u64, NotRun> {
    let mut said = false;
    loop {
        match publish(w, e).await {
            Ok(seq) => return Ok(seq),
            Err(err) if !stop.is_lost() => {
                if !said {
                    tracing::warn!(run = %e.origin().run_id, "cannot report yet ({err}); trying again");
                    said = true;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(_) => {
                return Err(NotRun::Elsewhere(
                    "the lease was lost before the report was made".into(),
                ));
            }
        }
    }
}

/// Rebuild, run and report the task's run; the state and reason it ended
/// with.
async fn run_task(
    w: &Arc<Worker>,
    task: &TaskMessage,
    trust: Reach,
    origin: &Origin,
    claimed: u64,
    stop: &Stop,
) -> Result<(&'static str, String), NotRun> {
    let attempt = |e: String| NotRun::Attempt(e);
    let home = w.host.home().root().to_path_buf();
    let clone = {
        let (cache, url) = (home.join("worker").join("clones"), task.repo_url.clone());
        tokio::task::spawn_blocking(move || remote::clone_or_fetch(&cache, &url))
            .await
            .map_err(|e| attempt(e.to_string()))?
            .map_err(|e| attempt(format!("cannot clone {}: {}", task.repo_url, e)))?
    };
    let spec = orchestrator::intake::write_spec(
        &home.join("worker").join("specs"),
        &task.task_id,
        &task.spec,
    )
    .map_err(attempt)?;
    let db = w.host.home().db_path();
    rebuild(w, task, claimed, &clone, &spec, &db)
        .await
        .map_err(attempt)?;
    let store = orchestrator::store::Store::open(&db).map_err(|e| attempt(e.to_string()))?;
    let existing = store
        .run(&task.run_id)
        .map_err(|e| attempt(e.to_string()))?;
    let mut replica = Replica::new(w, origin, &clone, &db).map_err(attempt)?;
    // Delivery asks whether this worker still holds the task, right before
    // each push.
    let _guard = orchestrator::guard::register(&task.run_id, {
        let (leases, task_id, fence) = (w.leases.clone(), task.task_id.clone(), origin.fence);
        Arc::new(move || {
            let (leases, task_id) = (leases.clone(), task_id.clone());
            Box::pin(async move {
                match leases.holds(&task_id, fence).await {
                    Ok(true) => Ok(()),
                    Ok(false) => Err("this worker no longer holds the task's lease".into()),
                    Err(e) => Err(format!("the task's lease cannot be checked: {e}")),
                }
            })
        })
    });
    let result = match existing {
        // It ended before (the ack was lost): report it, run nothing.
        Some(r) if r.status != RunStatus::Running => Ok((r.status, r.reason)),
        Some(_) => {
            tracing::info!(task = %task.task_id, run = %task.run_id, "resuming the run from the journal");
            let go = orchestrator::resume(&w.host, &task.run_id, None, ProgressSink::default());
            replica.follow(go, stop).await
        }
        None => {
            let go = orchestrator::start(
                &w.host,
                RunOptions {
                    repo: clone.clone(),
                    spec,
                    format: Some(task.format.clone()),
                    max_trust: Some(trust),
                    run_id: Some(task.run_id.clone()),
                    ..Default::default()
                },
            );
            replica.follow(go, stop).await
        }
    };
    // Everything the run wrote is reported before its end is.
    while let Err(e) = replica.flush().await {
        if stop.is_lost() {
            return Err(NotRun::Elsewhere(format!("the lease was lost: {e}")));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (status, reason) = result?;
    let state = crate::queue::TaskState::of_run(status).as_str();
    let reason = crate::queue::run_reason(&task.run_id, status, &reason);
    // The run ended: its checkpoint refs are not needed any more.
    let (c, id) = (clone.clone(), task.run_id.clone());
    let _ = tokio::task::spawn_blocking(move || remote::drop_checkpoint(&c, &id)).await;
    Ok((state, reason))
}

/// Make this worker's copy of the run what the events stream says it is
/// up to this worker's claim (`claimed`, its stream sequence), by the
/// fence rule, with the branches of the last checkpoint.
async fn rebuild(
    w: &Worker,
    task: &TaskMessage,
    claimed: u64,
    clone: &Path,
    spec: &Path,
    db: &Path,
) -> Result<(), String> {
    let stream = w
        .nats
        .js
        .get_stream(super::EVENTS)
        .await
        .map_err(|e| e.to_string())?;
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig {
            filter_subject: wire::subject(&task.run_id),
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
    let mut fences = Fences::default();
    let mut rows: Vec<(String, Vec<rows::Row>)> = Vec::new();
    loop {
        let m = tokio::time::timeout(Duration::from_secs(20), messages.next())
            .await
            .map_err(|_| "the run's events did not come back from the stream".to_string())?
            .ok_or("the run's events ended early")?
            .map_err(|e| e.to_string())?;
        let seq = m.info().map(|i| i.stream_sequence).unwrap_or(0);
        if let Ok(e) = serde_json::from_slice::<Event>(&m.payload)
            && e.origin().task_id == task.task_id
            && fences.admit(&e)
            && let Event::Rows { table, rows: r, .. } = e
        {
            rows.push((table, r));
        }
        if seq >= claimed {
            break;
        }
    }
    // This worker's own earlier copy, worktrees and branches go: the
    // stream and the remote are the truth.
    let run_dir = w.host.home().root().join("runs").join(&task.run_id);
    let (c, run_id, had_rows) = (clone.to_path_buf(), task.run_id.clone(), !rows.is_empty());
    tokio::task::spawn_blocking(move || {
        let _ = std::fs::remove_dir_all(&run_dir);
        let repo = orchestrator::git::open_repo(&c).map_err(|e| e.to_string())?;
        let _ = orchestrator::git::git(&repo, &["worktree", "prune"]);
        let prefix = "refs/heads/factory/".to_string();
        let listed =
            orchestrator::git::git(&repo, &["for-each-ref", "--format=%(refname)", &prefix])
                .unwrap_or_default();
        for r in listed.lines().filter(|r| remote::is_runs_ref(r, &run_id)) {
            let _ = orchestrator::git::git(&repo, &["update-ref", "-d", r]);
        }
        if had_rows {
            remote::fetch_checkpoint(&repo, &run_id).map_err(|e| e.to_string())?;
        }
        Ok::<_, String>(())
    })
    .await
    .map_err(|e| e.to_string())??;
    let conn = factory_store::db::open(db).map_err(|e| e.to_string())?;
    orchestrator::store::migrate(&conn).map_err(|e| e.to_string())?;
    rows::clear(&conn, &task.run_id).map_err(|e| e.to_string())?;
    for (table, r) in &rows {
        rows::write(&conn, table, &task.run_id, r, None).map_err(|e| e.to_string())?;
    }
    // The run is on this machine now: its clone, its spec.
    conn.execute(
        "UPDATE runs SET repo=?2, spec=?3 WHERE id=?1",
        rusqlite::params![
            task.run_id,
            clone.display().to_string(),
            spec.display().to_string()
        ],
    )
    .map_err(|e| e.to_string())?;
    Ok(())
}

/// Publish `e` on its run's subject; its stream sequence.
async fn publish(w: &Worker, e: &Event) -> Result<u64, NatsError> {
    let body = serde_json::to_vec(e).map_err(js_err)?;
    let ack = w
        .nats
        .js
        .publish(wire::subject(&e.origin().run_id), body.into())
        .await
        .map_err(js_err)?
        .await
        .map_err(js_err)?;
    Ok(ack.sequence)
}

/// Rows of one event at most this big (NATS takes 1 MiB by default).
const CHUNK: usize = 256 << 10;

/// The run's rows as this worker writes them, published as they come.
struct Replica<'a> {
    w: &'a Worker,
    origin: &'a Origin,
    clone: PathBuf,
    conn: rusqlite::Connection,
    /// Appended tables: the last id published.
    after: HashMap<&'static str, i64>,
    /// Keyed tables: what was published last.
    last: HashMap<&'static str, String>,
}

impl<'a> Replica<'a> {
    fn new(
        w: &'a Worker,
        origin: &'a Origin,
        clone: &Path,
        db: &Path,
    ) -> Result<Replica<'a>, String> {
        let conn = factory_store::db::open(db).map_err(|e| e.to_string())?;
        let mut r = Replica {
            w,
            origin,
            clone: clone.to_path_buf(),
            conn,
            after: HashMap::new(),
            last: HashMap::new(),
        };
        // What was rebuilt from the stream is there already.
        for (t, _, keyed) in TABLES {
            if keyed {
                let now = rows::read(&r.conn, t, &origin.run_id, 0).map_err(|e| e.to_string())?;
                r.last
                    .insert(t, serde_json::to_string(&now).unwrap_or_default());
            } else {
                let id = rows::last_id(&r.conn, t, &origin.run_id).map_err(|e| e.to_string())?;
                r.after.insert(t, id);
            }
        }
        Ok(r)
    }

    /// Drive `run`, publishing its rows every moment, until it ends or the
    /// lease is lost.
    async fn follow<F>(&mut self, run: F, stop: &Stop) -> Result<(RunStatus, String), NotRun>
    where
        F: std::future::Future<Output = Result<orchestrator::RunSummary, orchestrator::RunError>>,
    {
        let mut run = std::pin::pin!(run);
        let mut tick = tokio::time::interval(Duration::from_millis(300));
        loop {
            tokio::select! {
                r = &mut run => {
                    return r
                        .map(|s| (s.status, s.reason))
                        .map_err(|e| NotRun::Attempt(format!("{e:#}")));
                }
                _ = stop.wake.notified() => {
                    return Err(NotRun::Elsewhere("the lease was lost; another worker carries on".into()));
                }
                _ = tick.tick() => {
                    if let Err(e) = self.flush().await {
                        tracing::warn!(run = %self.origin.run_id, "cannot publish the run's rows yet: {e}");
                    }
                }
            }
        }
    }

    /// Publish what changed since the last flush. New steps first save the
    /// branches as a checkpoint on the remote, so that a worker taking
    /// over finds the code the steps describe.
    async fn flush(&mut self) -> Result<(), NatsError> {
        let run = self.origin.run_id.clone();
        let mut batches: Vec<(&'static str, Vec<rows::Row>, Option<i64>, Option<String>)> =
            Vec::new();
        for (t, _, keyed) in TABLES {
            if keyed {
                let now = rows::read(&self.conn, t, &run, 0).map_err(js_err)?;
                let text = serde_json::to_string(&now).unwrap_or_default();
                if !now.is_empty() && self.last.get(t) != Some(&text) {
                    batches.push((t, now, None, Some(text)));
                }
            } else {
                let after = self.after.get(t).copied().unwrap_or(0);
                let new = rows::read(&self.conn, t, &run, after).map_err(js_err)?;
                if let Some(last) = new
                    .last()
                    .and_then(|r| r.get("id"))
                    .and_then(|v| v.as_i64())
                {
                    batches.push((t, new, Some(last), None));
                }
            }
        }
        if batches.is_empty() {
            return Ok(());
        }
        if batches.iter().any(|(t, ..)| *t == "steps") {
            let (c, id) = (self.clone.clone(), run.clone());
            let saved = tokio::task::spawn_blocking(move || remote::push_checkpoint(&c, &id))
                .await
                .map_err(js_err)?;
            if let Err(e) = saved {
                tracing::warn!(run = %run, "cannot save the run's branches on the remote: {e}");
            }
        }
        // Keyed tables last: a run's row that says done comes after its
        // steps.
        batches.sort_by_key(|(_, _, id, _)| id.is_none());
        for (t, rows, id, text) in batches {
            for chunk in chunks(rows) {
                let e = Event::Rows {
                    origin: self.origin.clone(),
                    table: t.into(),
                    rows: chunk,
                };
                publish(self.w, &e).await?;
            }
            if let Some(id) = id {
                self.after.insert(t, id);
            }
            if let Some(text) = text {
                self.last.insert(t, text);
            }
        }
        Ok(())
    }
}

/// Rows in groups of at most [`CHUNK`] bytes (a bigger row goes alone).
fn chunks(rows: Vec<rows::Row>) -> Vec<Vec<rows::Row>> {
    let mut out: Vec<Vec<rows::Row>> = Vec::new();
    let mut size = 0;
    for r in rows {
        let n = serde_json::to_string(&r).map_or(0, |s| s.len());
        if out.is_empty() || size + n > CHUNK {
            out.push(Vec::new());
            size = 0;
        }
        size += n;
        out.last_mut().map(|v| v.push(r));
    }
    out
}
