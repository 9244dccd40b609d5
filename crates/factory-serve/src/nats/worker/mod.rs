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

mod rebuild;
mod replica;
mod run;

use super::lease::{LeaseError, Leases};
use super::wire::{self, Event, Origin};
use super::{LEVELS, Nats, NatsError, TaskMessage, js_err};
use crate::worker::task_trust;
use async_nats::jetstream::{self, AckKind};
use factory_orchestrator as orchestrator;
use factory_orchestrator::config::Reach;
use factory_orchestrator::git::remote;
use factory_store::Host;
use futures_util::StreamExt;
use run::run_task;
use std::collections::HashMap;
use std::path::PathBuf;
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
        let (m, level) = 'found: loop {
            for level in levels.iter().rev() {
                match next(&w, &mut consumers, *level).await {
                    Ok(Some(m)) => break 'found (m, *level),
                    Ok(None) => {}
                    Err(e) => {
                        consumers.remove(level.name());
                        tracing::warn!(level = level.name(), "cannot pull tasks: {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        };
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
        let _ = w.leases.release(&task.task_id, origin.fence).await;
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
        // Kept until the run's driver waits for it, if it is not yet.
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
