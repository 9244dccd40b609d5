//! Workers: each leases a task, runs it (or resumes the run it already
//! started), keeps its lease alive while the run goes, and ends the task
//! with what the run came to.

use crate::queue::{Lease, Queue, TaskState};
use crate::{Service, new_worker_name};
use factory_orchestrator::config::Reach;
use factory_orchestrator::progress::ProgressSink;
use factory_orchestrator::state::RunStatus;
use factory_orchestrator::{self as orchestrator, RunOptions, RunSummary};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a lease lasts without renewal; renewed every third of it.
pub const LEASE: Duration = Duration::from_secs(30);
/// How often an idle worker looks for work when nothing wakes it.
const IDLE_POLL: Duration = Duration::from_millis(500);

/// Run `n` workers until the process ends, on a runtime of their own: a
/// run's steps do blocking work (git, the database, sandboxed commands),
/// and none of it may hold up the HTTP side, which acknowledges webhooks
/// at once.
pub fn spawn(service: &Arc<Service>, n: usize) -> std::io::Result<()> {
    if n == 0 {
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(n.clamp(1, 16))
        .thread_name("factory-worker")
        .enable_all()
        .build()?;
    let s = service.clone();
    std::thread::Builder::new()
        .name("factory-workers".into())
        .spawn(move || {
            rt.block_on(async move {
                for i in 0..n {
                    let s = s.clone();
                    let name = new_worker_name(i);
                    tokio::spawn(async move { work(s, name).await });
                }
                std::future::pending::<()>().await
            })
        })?;
    Ok(())
}

async fn work(s: Arc<Service>, name: String) {
    loop {
        let lease = match s.queue.lease(&name, LEASE) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(worker = %name, "cannot lease a task: {e}");
                None
            }
        };
        match lease {
            Some(lease) => run_task(&s, lease).await,
            None => {
                let _ = tokio::time::timeout(IDLE_POLL, s.wake.notified()).await;
            }
        }
    }
}

async fn run_task(s: &Arc<Service>, lease: Lease) {
    let id = lease.task.id.clone();
    tracing::info!(task = %id, worker = %lease.worker, attempt = lease.task.attempts, "task leased");
    let lease = Arc::new(Mutex::new(lease));
    let keeper = keep_alive(s.queue.clone(), lease.clone());
    let stop = Arc::new(tokio::sync::Notify::new());
    s.running
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id.clone(), stop.clone());
    // A cancel drops the run where it is (at its next await).
    let result = tokio::select! {
        r = run(s, &lease) => Some(r),
        _ = stop.notified() => None,
    };
    s.running
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&id);
    keeper.abort();
    let Some(result) = result else {
        tracing::info!(task = %id, "task cancelled; its run stopped");
        return;
    };
    let lease = lease.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let (state, reason) = match result {
        Ok(summary) => (
            TaskState::of_run(summary.status),
            crate::queue::run_reason(&summary.id, summary.status, &summary.reason),
        ),
        Err(e) => (TaskState::Failed, e),
    };
    match s.queue.finish(&lease, state, &reason) {
        Ok(true) => tracing::info!(task = %id, state = state.as_str(), "{reason}"),
        Ok(false) => {
            tracing::warn!(task = %id, "the lease was lost before the task ended; its new holder finishes it")
        }
        Err(e) => tracing::error!(task = %id, "cannot end the task: {e}"),
    }
}

/// Renew the lease every third of its length, for as long as the run goes.
fn keep_alive(queue: Arc<dyn Queue>, lease: Arc<Mutex<Lease>>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(LEASE / 3).await;
            let mut l = lease.lock().unwrap_or_else(|p| p.into_inner()).clone();
            match queue.renew(&mut l, LEASE) {
                Ok(true) => *lease.lock().unwrap_or_else(|p| p.into_inner()) = l,
                Ok(false) => {
                    tracing::warn!(task = %l.task.id, "lease lost");
                    return;
                }
                Err(e) => tracing::error!(task = %l.task.id, "cannot renew the lease: {e}"),
            }
        }
    })
}

/// Start the task's run, or resume the one it started before.
async fn run(s: &Arc<Service>, lease: &Arc<Mutex<Lease>>) -> Result<RunSummary, String> {
    let task = lease.lock().unwrap_or_else(|p| p.into_inner()).task.clone();
    let text = |e: orchestrator::RunError| format!("{:#}", e);
    if task.format == crate::queue::FEEDBACK {
        return feedback(s, lease, &task).await;
    }
    // The run's id is the task's before the run exists: a restart at any
    // point finds it, and resumes that run or starts it, never another.
    let run_id = match &task.run_id {
        Some(id) => id.clone(),
        None => {
            let id = orchestrator::new_run_id();
            let l = lease.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if !s.queue.set_run(&l, &id).map_err(|e| e.to_string())? {
                return Err("the lease was lost before the run started".into());
            }
            id
        }
    };
    match s.runs.run(&run_id).map_err(|e| e.to_string())? {
        Some(r) if r.status == RunStatus::Done => return Ok(summary_of(s, r)),
        Some(_) => {
            tracing::info!(task = %task.id, run = %run_id, "resuming the task's run");
            return orchestrator::resume(&s.host, &run_id, None, ProgressSink::default())
                .await
                .map_err(text);
        }
        None => {}
    }
    let repo = match s.config.repos.get(&task.repo) {
        Some(crate::RepoAt::Path(p)) => p.clone(),
        // A remote: the run works in a clone, and delivery pushes.
        Some(crate::RepoAt::Url(url)) => {
            let (cache, url) = (s.spec_dir.with_file_name("clones"), url.clone());
            tokio::task::spawn_blocking(move || {
                orchestrator::git::remote::clone_or_fetch(&cache, &url)
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?
        }
        None => return Err(format!("repository `{}` is no longer mapped", task.repo)),
    };
    let spec = orchestrator::intake::write_spec(&s.spec_dir, &task.id, &task.spec)?;
    let opts = RunOptions {
        repo,
        spec,
        format: Some(task.format.clone()),
        max_trust: Some(task_trust(task.trust.as_deref(), s.config.max_trust)),
        run_id: Some(run_id),
        ..Default::default()
    };
    orchestrator::start(&s.host, opts).await.map_err(text)
}

/// What a run that ended before came to.
fn summary_of(s: &Service, r: factory_orchestrator::store::RunRow) -> RunSummary {
    RunSummary {
        report: s
            .host
            .home()
            .root()
            .join("runs")
            .join(&r.id)
            .join("report.html"),
        id: r.id,
        status: r.status,
        reason: r.reason,
        result: r.result,
        tokens: 0,
        cost_usd: 0.0,
    }
}

/// Review feedback for a draft: the run goes back to review with it (once
/// per piece of feedback), then carries on to a new draft.
async fn feedback(
    s: &Arc<Service>,
    lease: &Arc<Mutex<Lease>>,
    task: &crate::queue::QueuedTask,
) -> Result<RunSummary, String> {
    let spec: serde_json::Value =
        serde_json::from_str(&task.spec).map_err(|e| format!("the feedback is unreadable: {e}"))?;
    let run_id = spec["run_id"].as_str().unwrap_or_default().to_string();
    let fb: factory_types::roles::Feedback = serde_json::from_value(spec.clone())
        .map_err(|e| format!("the feedback is unreadable: {e}"))?;
    let fb_id = spec["id"].as_str().unwrap_or(&task.id).to_string();
    {
        let l = lease.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if !s.queue.set_run(&l, &run_id).map_err(|e| e.to_string())? {
            return Err("the lease was lost".into());
        }
    }
    orchestrator::reopen::reopen(&s.host, &run_id, &fb, &fb_id).map_err(|e| e.to_string())?;
    match s.runs.run(&run_id).map_err(|e| e.to_string())? {
        // Applied and carried through before (a redelivery).
        Some(r) if r.status == RunStatus::Done => Ok(summary_of(s, r)),
        _ => orchestrator::resume(&s.host, &run_id, None, ProgressSink::default())
            .await
            .map_err(|e| format!("{e:#}")),
    }
}

/// The trust a task's run may have: what it asked for, never above `max`.
pub fn task_trust(asked: Option<&str>, max: Reach) -> Reach {
    match asked.and_then(Reach::parse) {
        Some(t) if t < max => t,
        _ => max,
    }
}

/// The most trust a service run may have unless configured otherwise:
/// drafts, which a human approves.
pub const DEFAULT_MAX_TRUST: Reach = Reach::Draft;
