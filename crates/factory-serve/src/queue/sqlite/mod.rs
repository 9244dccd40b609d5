//! The embedded queue: two tables in the factory database. Every change is
//! one SQLite transaction (WAL), so what `enqueue` accepted survives a
//! kill -9 of the service.

use super::{Enqueued, Lease, NewTask, Queue, QueueError, QueuedTask, TaskState, new_id};
use factory_store::db::now_ms;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS serve_tasks(
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    delivery TEXT UNIQUE,
    subject TEXT,
    repo TEXT NOT NULL,
    format TEXT NOT NULL,
    spec TEXT NOT NULL,
    title TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    fence INTEGER NOT NULL DEFAULT 0,
    worker TEXT,
    lease_until INTEGER NOT NULL DEFAULT 0,
    run_id TEXT,
    reason TEXT NOT NULL DEFAULT '',
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS serve_tasks_state ON serve_tasks(state);
CREATE INDEX IF NOT EXISTS serve_tasks_subject ON serve_tasks(subject, created);
CREATE TABLE IF NOT EXISTS serve_links(
    delivery TEXT PRIMARY KEY,
    task_id TEXT NOT NULL,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS serve_keys(
    key TEXT NOT NULL,
    task_id TEXT NOT NULL,
    PRIMARY KEY(key, task_id)
);
CREATE TABLE IF NOT EXISTS serve_notes(
    task_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    note TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS serve_notes_task ON serve_notes(task_id, at);
CREATE INDEX IF NOT EXISTS serve_tasks_run ON serve_tasks(run_id);
CREATE INDEX IF NOT EXISTS serve_tasks_updated ON serve_tasks(updated);";

/// Open, or done lately: the states in which a task takes in new
/// deliveries about the same work. `?2`: the oldest `updated` that counts
/// as recent.
const COVERS: &str =
    "(t.state IN ('queued','running','blocked') OR (t.state='done' AND t.updated>?2))";

/// How long a finished task still takes in new deliveries about the same
/// subject (a failed one does not: its subject may be tried again).
const RECENT: Duration = Duration::from_secs(24 * 3600);

const COLS: &str = "id, source, delivery, subject, repo, format, spec, title, state, attempts, run_id, reason, worker, created, updated, fence, lease_until, trust";

pub struct SqliteQueue {
    conn: Mutex<Connection>,
    max_attempts: u32,
}

impl SqliteQueue {
    /// The queue in the factory database at `path`; a task leased
    /// `max_attempts` times without ending is failed.
    pub fn open(path: &Path, max_attempts: u32) -> Result<SqliteQueue, QueueError> {
        let conn = factory_store::db::open(path)?;
        conn.execute_batch(SCHEMA)?;
        // Added with the scale-out: the trust a task asks for.
        match conn.execute("ALTER TABLE serve_tasks ADD COLUMN trust TEXT", []) {
            Err(rusqlite::Error::SqliteFailure(_, Some(m))) if m.contains("duplicate column") => {}
            r => {
                r?;
            }
        }
        Ok(SqliteQueue {
            conn: Mutex::new(conn),
            max_attempts: max_attempts.max(1),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A task's links and notes, read with it.
    fn complete(conn: &Connection, t: &mut QueuedTask) -> rusqlite::Result<()> {
        let mut st = conn
            .prepare_cached("SELECT delivery FROM serve_links WHERE task_id=?1 ORDER BY created")?;
        t.linked = st
            .query_map([&t.id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut st =
            conn.prepare_cached("SELECT at, note FROM serve_notes WHERE task_id=?1 ORDER BY at")?;
        t.notes = st
            .query_map([&t.id], |r| {
                Ok(super::TaskNote {
                    at: r.get(0)?,
                    note: r.get(1)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(())
    }
}

/// Note `note` on task `id` (if there is one), now.
fn add_note(conn: &Connection, id: &str, note: &str) -> rusqlite::Result<()> {
    let now = now_ms();
    conn.execute(
        "INSERT INTO serve_notes(task_id, at, note) SELECT id, ?2, ?3 FROM serve_tasks WHERE id=?1",
        params![id, now, note],
    )?;
    conn.execute(
        "UPDATE serve_tasks SET updated=?2 WHERE id=?1",
        params![id, now],
    )?;
    Ok(())
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(QueuedTask, u64, i64)> {
    Ok((
        QueuedTask {
            id: r.get(0)?,
            source: r.get(1)?,
            delivery: r.get(2)?,
            subject: r.get(3)?,
            repo: r.get(4)?,
            format: r.get(5)?,
            spec: r.get(6)?,
            title: r.get(7)?,
            state: TaskState::parse(&r.get::<_, String>(8)?),
            attempts: r.get(9)?,
            run_id: r.get(10)?,
            reason: r.get(11)?,
            worker: r.get(12)?,
            linked: Vec::new(),
            notes: Vec::new(),
            created: r.get(13)?,
            updated: r.get(14)?,
            trust: r.get(17)?,
        },
        r.get::<_, i64>(15)? as u64,
        r.get(16)?,
    ))
}

impl Queue for SqliteQueue {
    fn enqueue(&self, t: NewTask) -> Result<Enqueued, QueueError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_ms();
        if let Some(d) = &t.delivery {
            let seen: Option<String> = tx
                .query_row(
                    "SELECT id FROM serve_tasks WHERE delivery=?1
                     UNION ALL SELECT task_id FROM serve_links WHERE delivery=?1",
                    [d],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(task_id) = seen {
                return Ok(Enqueued::Duplicate { task_id });
            }
        }
        let recent = now - RECENT.as_millis() as i64;
        let mut covering: Option<(String, String)> = None;
        if let Some(s) = &t.subject {
            covering = tx
                .query_row(
                    &format!(
                        "SELECT t.id FROM serve_tasks t WHERE t.subject=?1 AND {COVERS}
                         ORDER BY t.created DESC LIMIT 1"
                    ),
                    params![s, recent],
                    |r| r.get(0),
                )
                .optional()?
                .map(|id| (id, s.clone()));
        }
        for k in &t.keys {
            if covering.is_some() {
                break;
            }
            covering = tx
                .query_row(
                    &format!(
                        "SELECT t.id FROM serve_keys k JOIN serve_tasks t ON t.id=k.task_id
                         WHERE k.key=?1 AND {COVERS} ORDER BY t.created DESC LIMIT 1"
                    ),
                    params![k, recent],
                    |r| r.get(0),
                )
                .optional()?
                .map(|id| (id, k.clone()));
        }
        if let Some((task_id, by)) = covering {
            let delivery = t.delivery.clone().unwrap_or_else(new_id);
            tx.execute(
                "INSERT OR IGNORE INTO serve_links(delivery, task_id, created) VALUES(?1,?2,?3)",
                params![delivery, task_id, now],
            )?;
            tx.commit()?;
            return Ok(Enqueued::Linked { task_id, by });
        }
        let id = new_id();
        tx.execute(
            "INSERT INTO serve_tasks(id, source, delivery, subject, repo, format, spec, title, state, created, updated, trust)
             VALUES(?1,?2,?3,?4,?5,?6,?7,?8,'queued',?9,?9,?10)",
            params![id, t.source, t.delivery, t.subject, t.repo, t.format, t.spec, t.title, now, t.trust.map(|r| r.name())],
        )?;
        for k in &t.keys {
            tx.execute(
                "INSERT OR IGNORE INTO serve_keys(key, task_id) VALUES(?1,?2)",
                params![k, id],
            )?;
        }
        tx.commit()?;
        Ok(Enqueued::Queued { task_id: id })
    }

    fn lease(&self, worker: &str, ttl: Duration) -> Result<Option<Lease>, QueueError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_ms();
        // Dead letters first: leased this often and never ended.
        tx.execute(
            "UPDATE serve_tasks SET state='failed', worker=NULL, updated=?1,
               reason='gave up after ' || attempts || ' attempts: each time its worker stopped before the task ended'
             WHERE state='running' AND lease_until<?1 AND attempts>=?2",
            params![now, self.max_attempts],
        )?;
        // A task whose worker stopped goes first (it is older), then the
        // oldest waiting one; each query walks the state index in order.
        let expired: Option<String> = tx
            .query_row(
                "SELECT id FROM serve_tasks WHERE state='running' AND lease_until<?1
                 ORDER BY rowid LIMIT 1",
                [now],
                |r| r.get(0),
            )
            .optional()?;
        let next = match expired {
            Some(id) => Some(id),
            None => tx
                .query_row(
                    "SELECT id FROM serve_tasks WHERE state='queued' ORDER BY rowid LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .optional()?,
        };
        let Some(id) = next else {
            tx.commit()?;
            return Ok(None);
        };
        let until = now + ttl.as_millis() as i64;
        tx.execute(
            "UPDATE serve_tasks SET state='running', worker=?2, lease_until=?3, fence=fence+1,
               attempts=attempts+1, updated=?4 WHERE id=?1",
            params![id, worker, until, now],
        )?;
        let (task, fence, _) = tx.query_row(
            &format!("SELECT {COLS} FROM serve_tasks WHERE id=?1"),
            [&id],
            row,
        )?;
        tx.commit()?;
        Ok(Some(Lease {
            task,
            worker: worker.to_string(),
            fence,
            until,
        }))
    }

    fn renew(&self, lease: &mut Lease, ttl: Duration) -> Result<bool, QueueError> {
        let until = now_ms() + ttl.as_millis() as i64;
        let n = self.conn().execute(
            "UPDATE serve_tasks SET lease_until=?3 WHERE id=?1 AND fence=?2 AND state='running'",
            params![lease.task.id, lease.fence as i64, until],
        )?;
        if n == 1 {
            lease.until = until;
        }
        Ok(n == 1)
    }

    fn set_run(&self, lease: &Lease, run_id: &str) -> Result<bool, QueueError> {
        let n = self.conn().execute(
            "UPDATE serve_tasks SET run_id=?3, updated=?4 WHERE id=?1 AND fence=?2 AND state='running'",
            params![lease.task.id, lease.fence as i64, run_id, now_ms()],
        )?;
        Ok(n == 1)
    }

    fn finish(&self, lease: &Lease, state: TaskState, reason: &str) -> Result<bool, QueueError> {
        let n = self.conn().execute(
            "UPDATE serve_tasks SET state=?3, reason=?4, worker=NULL, updated=?5
             WHERE id=?1 AND fence=?2 AND state='running'",
            params![
                lease.task.id,
                lease.fence as i64,
                state.as_str(),
                reason,
                now_ms()
            ],
        )?;
        Ok(n == 1)
    }

    fn recover(&self) -> Result<usize, QueueError> {
        Ok(self.conn().execute(
            "UPDATE serve_tasks SET lease_until=0 WHERE state='running'",
            [],
        )?)
    }

    fn cancel(&self, id: &str, reason: &str) -> Result<Option<TaskState>, QueueError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let state: Option<String> = tx
            .query_row("SELECT state FROM serve_tasks WHERE id=?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(state) = state.map(|s| TaskState::parse(&s)) else {
            return Ok(None);
        };
        if !state.is_final() {
            // The fence moves on: the worker's lease is over.
            tx.execute(
                "UPDATE serve_tasks SET state='cancelled', reason=?2, worker=NULL,
                   fence=fence+1, updated=?3 WHERE id=?1",
                params![id, reason, now_ms()],
            )?;
        }
        tx.commit()?;
        Ok(Some(state))
    }

    fn assign_run(&self, id: &str, run_id: &str) -> Result<Option<String>, QueueError> {
        self.assign_run_(id, run_id)
    }
    fn remote_claim(&self, id: &str, worker: &str, fence: u64) -> Result<bool, QueueError> {
        self.remote_claim_(id, worker, fence)
    }
    fn remote_end(
        &self,
        id: &str,
        fence: u64,
        state: TaskState,
        reason: &str,
    ) -> Result<bool, QueueError> {
        self.remote_end_(id, fence, state, reason)
    }
    fn dead_letter(&self, id: &str, reason: &str) -> Result<bool, QueueError> {
        self.dead_letter_(id, reason)
    }
    fn note(&self, id: &str, note: &str) -> Result<(), QueueError> {
        self.note_(id, note)
    }

    fn annotate(&self, subject: &str, note: &str) -> Result<Option<String>, QueueError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id: Option<String> = tx
            .query_row(
                "SELECT id FROM serve_tasks WHERE subject=?1 ORDER BY created DESC LIMIT 1",
                [subject],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = &id {
            add_note(&tx, id, note)?;
        }
        tx.commit()?;
        Ok(id)
    }

    fn get(&self, id: &str) -> Result<Option<QueuedTask>, QueueError> {
        self.one("id=?1", id)
    }

    fn by_run(&self, run_id: &str) -> Result<Option<QueuedTask>, QueueError> {
        self.one("run_id=?1", run_id)
    }

    fn list(&self, limit: usize) -> Result<Vec<QueuedTask>, QueueError> {
        self.rows(
            &format!("SELECT {COLS} FROM serve_tasks ORDER BY rowid DESC LIMIT ?1"),
            [limit as i64],
        )
    }

    fn changed_since(&self, since: i64, limit: usize) -> Result<Vec<QueuedTask>, QueueError> {
        self.rows(
            &format!(
                "SELECT {COLS} FROM serve_tasks WHERE updated >= ?1 ORDER BY updated, rowid LIMIT ?2"
            ),
            params![since, limit as i64],
        )
    }
}

impl SqliteQueue {
    fn rows(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<QueuedTask>, QueueError> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(sql)?;
        let rows: Vec<QueuedTask> = st
            .query_map(params, row)?
            .map(|r| r.map(|(t, _, _)| t))
            .collect::<Result<_, _>>()?;
        drop(st);
        let mut out = Vec::with_capacity(rows.len());
        for mut t in rows {
            SqliteQueue::complete(&conn, &mut t)?;
            out.push(t);
        }
        Ok(out)
    }

    /// The newest task where `cond` (on `?1` = `value`) holds.
    fn one(&self, cond: &str, value: &str) -> Result<Option<QueuedTask>, QueueError> {
        Ok(self
            .rows(
                &format!("SELECT {COLS} FROM serve_tasks WHERE {cond} ORDER BY rowid DESC LIMIT 1"),
                [value],
            )?
            .pop())
    }
}

mod scale;
#[cfg(test)]
mod tests;
