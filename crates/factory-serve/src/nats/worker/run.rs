//! One task's run on this worker: its clone, its state rebuilt, the run
//! started or resumed with its rows published, and what it came to.

use super::super::TaskMessage;
use super::super::wire::Origin;
use super::rebuild::rebuild;
use super::replica::Replica;
use super::{NotRun, Stop, Worker};
use factory_orchestrator::config::Reach;
use factory_orchestrator::git::remote;
use factory_orchestrator::progress::ProgressSink;
use factory_orchestrator::state::RunStatus;
use factory_orchestrator::{self as orchestrator, RunOptions};
use std::sync::Arc;
use std::time::Duration;

/// Rebuild, run and report the task's run; the state and reason it ended
/// with.
pub(super) async fn run_task(
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
