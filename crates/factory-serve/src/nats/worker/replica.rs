//! The run's rows as a worker writes them, published on the events stream
//! as they come, with a checkpoint of its branches before new steps.

use super::super::rows::{self, TABLES};
use super::super::wire::{Event, Origin};
use super::super::{NatsError, js_err};
use super::{NotRun, Stop, Worker, publish};
use factory_orchestrator::state::RunStatus;
use factory_orchestrator::{self as orchestrator, git::remote};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Rows of one event at most this big (NATS takes 1 MiB by default).
const CHUNK: usize = 256 << 10;

/// The run's rows as this worker writes them, published as they come.
pub(super) struct Replica<'a> {
    w: &'a Worker,
    origin: &'a Origin,
    clone: PathBuf,
    conn: rusqlite::Connection,
    /// Appended tables: the last id published.
    after: HashMap<&'static str, i64>,
    /// Keyed tables: what was published last.
    last: HashMap<&'static str, String>,
}

/// Rows of one table not published yet.
struct Batch {
    table: &'static str,
    rows: Vec<rows::Row>,
    /// An appended table's: the last row's id.
    last_id: Option<i64>,
    /// A keyed table's: all its rows, as published.
    text: Option<String>,
}

impl<'a> Replica<'a> {
    /// The replica of `origin`'s run in the database at `db`; what is there
    /// already (rebuilt from the stream) counts as published.
    pub(super) fn new(
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
        for b in r.changes().map_err(|e| e.to_string())? {
            r.published(&b);
        }
        Ok(r)
    }

    /// Drive `run`, publishing its rows every moment, until it ends or the
    /// lease is lost.
    pub(super) async fn follow<F>(
        &mut self,
        run: F,
        stop: &Stop,
    ) -> Result<(RunStatus, String), NotRun>
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

    /// What changed since the last publish, table by table.
    fn changes(&self) -> Result<Vec<Batch>, NatsError> {
        let run = &self.origin.run_id;
        let mut batches = Vec::new();
        for (table, _, keyed) in TABLES {
            if keyed {
                let rows = rows::read(&self.conn, table, run, 0).map_err(js_err)?;
                let text = serde_json::to_string(&rows).unwrap_or_default();
                if !rows.is_empty() && self.last.get(table) != Some(&text) {
                    batches.push(Batch {
                        table,
                        rows,
                        last_id: None,
                        text: Some(text),
                    });
                }
            } else {
                let after = self.after.get(table).copied().unwrap_or(0);
                let rows = rows::read(&self.conn, table, run, after).map_err(js_err)?;
                let last_id = rows
                    .last()
                    .and_then(|r| r.get("id"))
                    .and_then(|v| v.as_i64());
                if last_id.is_some() {
                    batches.push(Batch {
                        table,
                        rows,
                        last_id,
                        text: None,
                    });
                }
            }
        }
        Ok(batches)
    }

    /// `b` is published: the next changes start after it.
    fn published(&mut self, b: &Batch) {
        if let Some(id) = b.last_id {
            self.after.insert(b.table, id);
        }
        if let Some(text) = &b.text {
            self.last.insert(b.table, text.clone());
        }
    }

    /// Publish what changed since the last flush. New steps first save the
    /// branches as a checkpoint on the remote, so that a worker taking
    /// over finds the code the steps describe.
    pub(super) async fn flush(&mut self) -> Result<(), NatsError> {
        let mut batches = self.changes()?;
        if batches.is_empty() {
            return Ok(());
        }
        if batches.iter().any(|b| b.table == "steps") {
            let (c, id) = (self.clone.clone(), self.origin.run_id.clone());
            let saved = tokio::task::spawn_blocking(move || remote::push_checkpoint(&c, &id))
                .await
                .map_err(js_err)?;
            if let Err(e) = saved {
                tracing::warn!(run = %self.origin.run_id, "cannot save the run's branches on the remote: {e}");
            }
        }
        // Keyed tables last: a run's row that says done comes after its
        // steps.
        batches.sort_by_key(|b| b.last_id.is_none());
        for mut b in batches {
            for chunk in chunks(std::mem::take(&mut b.rows)) {
                let e = Event::Rows {
                    origin: self.origin.clone(),
                    table: b.table.into(),
                    rows: chunk,
                };
                publish(self.w, &e).await?;
            }
            self.published(&b);
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
