//! A worker taking a run over: its state as the events stream says, by
//! the fence rule, and its branches as the last checkpoint left them.

use super::super::rows;
use super::super::wire::{self, Event, Fences};
use super::super::{EVENTS, TaskMessage};
use super::Worker;
use async_nats::jetstream;
use factory_orchestrator::{self as orchestrator, git::remote};
use futures_util::StreamExt;
use std::path::Path;
use std::time::Duration;

/// Make this worker's copy of the run what the events stream says it is
/// up to this worker's claim (`claimed`, its stream sequence), by the
/// fence rule, with the branches of the last checkpoint.
pub(super) async fn rebuild(
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
        .get_stream(EVENTS)
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
