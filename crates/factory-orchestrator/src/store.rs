//! Run state in the factory database: runs, their tasks (the plan's
//! subtasks and the run's phases) and the timeline of steps. Every change
//! is committed before the work it describes goes on, so a killed run
//! resumes where it stopped.

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Mutex;

/// The run store's tables, created (or brought up to date) when the
/// store is opened: the run store owns them, the journal does not need
/// them.
pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS runs(
            id TEXT PRIMARY KEY,
            created INTEGER NOT NULL,
            updated INTEGER NOT NULL,
            repo TEXT NOT NULL,
            spec TEXT NOT NULL,
            task TEXT NOT NULL,
            config TEXT NOT NULL,
            trust TEXT NOT NULL,
            target TEXT NOT NULL,
            base TEXT NOT NULL,
            branch TEXT NOT NULL,
            status TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            plan TEXT,
            result TEXT
        );
        CREATE TABLE IF NOT EXISTS tasks(
            run_id TEXT NOT NULL,
            id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            title TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            reason TEXT NOT NULL DEFAULT '',
            data TEXT NOT NULL DEFAULT '{}',
            PRIMARY KEY(run_id, id)
        );
        CREATE TABLE IF NOT EXISTS steps(
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL,
            ts INTEGER NOT NULL,
            task_id TEXT NOT NULL,
            role TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            kind TEXT NOT NULL,
            status TEXT NOT NULL,
            summary TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            call_id TEXT,
            duration_ms INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX IF NOT EXISTS steps_run ON steps(run_id, id);",
    )
}

/// pending, in-flight, blocked, done, failed.
pub use super::state::{RunStatus, TaskStatus};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRow {
    pub id: String,
    pub created: i64,
    pub updated: i64,
    pub repo: String,
    pub spec: String,
    pub task: serde_json::Value,
    pub config: serde_json::Value,
    pub trust: String,
    pub target: String,
    pub base: String,
    pub branch: String,
    pub status: RunStatus,
    pub reason: String,
    pub plan: Option<serde_json::Value>,
    pub result: Option<super::outcome::RunResult>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TaskRow {
    pub id: String,
    pub seq: i64,
    pub title: String,
    pub status: TaskStatus,
    pub attempts: u32,
    pub reason: String,
    /// Task-specific state: feedback, branch, last failure signature, ….
    pub data: serde_json::Value,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StepRow {
    pub id: i64,
    pub ts: i64,
    pub task_id: String,
    pub role: String,
    pub attempt: u32,
    /// role, gate, merge, deliver, note.
    pub kind: String,
    pub status: String,
    pub summary: String,
    pub detail: String,
    pub call_id: Option<String>,
    pub duration_ms: u64,
}

pub struct Store {
    conn: Mutex<Connection>,
}

fn run_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
    let json = |i: usize| -> rusqlite::Result<serde_json::Value> {
        Ok(serde_json::from_str(&r.get::<_, String>(i)?).unwrap_or_default())
    };
    let opt = |i: usize| -> rusqlite::Result<Option<serde_json::Value>> {
        Ok(r.get::<_, Option<String>>(i)?
            .and_then(|s| serde_json::from_str(&s).ok()))
    };
    Ok(RunRow {
        id: r.get(0)?,
        created: r.get(1)?,
        updated: r.get(2)?,
        repo: r.get(3)?,
        spec: r.get(4)?,
        task: json(5)?,
        config: json(6)?,
        trust: r.get(7)?,
        target: r.get(8)?,
        base: r.get(9)?,
        branch: r.get(10)?,
        status: r.get(11)?,
        reason: r.get(12)?,
        plan: opt(13)?,
        // A result this version cannot read (an older layout) is left out
        // rather than failing the whole run's view.
        result: r
            .get::<_, Option<String>>(14)?
            .and_then(|t| serde_json::from_str(&t).ok()),
    })
}

fn step_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StepRow> {
    Ok(StepRow {
        id: r.get(0)?,
        ts: r.get(1)?,
        task_id: r.get(2)?,
        role: r.get(3)?,
        attempt: r.get(4)?,
        kind: r.get(5)?,
        status: r.get(6)?,
        summary: r.get(7)?,
        detail: r.get(8)?,
        call_id: r.get(9)?,
        duration_ms: r.get::<_, i64>(10)? as u64,
    })
}

const RUN_COLS: &str = "id, created, updated, repo, spec, task, config, trust, target, base, branch, status, reason, plan, result";

impl Store {
    pub fn open(db: &Path) -> rusqlite::Result<Store> {
        let conn = crate::db::open(db)?;
        migrate(&conn)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn insert_run(&self, r: &RunRow) -> rusqlite::Result<()> {
        self.conn().execute(
            &format!("INSERT INTO runs({RUN_COLS}) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)"),
            params![
                r.id,
                r.created,
                r.updated,
                r.repo,
                r.spec,
                r.task.to_string(),
                r.config.to_string(),
                r.trust,
                r.target,
                r.base,
                r.branch,
                r.status,
                r.reason,
                r.plan.as_ref().map(|p| p.to_string()),
                r.result.as_ref().and_then(|p| serde_json::to_string(p).ok())
            ],
        )?;
        Ok(())
    }

    pub fn run(&self, id: &str) -> rusqlite::Result<Option<RunRow>> {
        self.conn()
            .query_row(
                &format!("SELECT {RUN_COLS} FROM runs WHERE id=?1"),
                [id],
                run_row,
            )
            .optional()
    }

    /// Runs, newest first.
    pub fn runs(&self, limit: usize) -> rusqlite::Result<Vec<RunRow>> {
        let conn = self.conn();
        let mut st = conn.prepare(&format!(
            "SELECT {RUN_COLS} FROM runs ORDER BY created DESC, id DESC LIMIT ?1"
        ))?;
        let rows = st.query_map([limit as i64], run_row)?;
        rows.collect()
    }

    pub fn set_run_status(
        &self,
        id: &str,
        status: RunStatus,
        reason: &str,
    ) -> rusqlite::Result<()> {
        self.conn().execute(
            "UPDATE runs SET status=?2, reason=?3, updated=?4 WHERE id=?1",
            params![id, status, reason, crate::db::now_ms()],
        )?;
        Ok(())
    }

    pub fn set_plan(&self, id: &str, plan: &serde_json::Value) -> rusqlite::Result<()> {
        self.conn().execute(
            "UPDATE runs SET plan=?2, updated=?3 WHERE id=?1",
            params![id, plan.to_string(), crate::db::now_ms()],
        )?;
        Ok(())
    }

    /// The repository the run is worked on here (a run made elsewhere,
    /// brought to this machine's clone of its remote).
    pub fn set_repo(&self, id: &str, repo: &str) -> rusqlite::Result<()> {
        self.conn()
            .execute("UPDATE runs SET repo=?2 WHERE id=?1", params![id, repo])?;
        Ok(())
    }

    pub fn set_result(&self, id: &str, result: &super::outcome::RunResult) -> rusqlite::Result<()> {
        self.conn().execute(
            "UPDATE runs SET result=?2, updated=?3 WHERE id=?1",
            params![
                id,
                serde_json::to_string(result).unwrap_or_default(),
                crate::db::now_ms()
            ],
        )?;
        Ok(())
    }

    pub fn upsert_task(&self, run: &str, t: &TaskRow) -> rusqlite::Result<()> {
        self.conn().execute(
            "INSERT INTO tasks(run_id, id, seq, title, status, attempts, reason, data) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)
             ON CONFLICT(run_id, id) DO UPDATE SET title=excluded.title, status=excluded.status, attempts=excluded.attempts,
             reason=excluded.reason, data=excluded.data",
            params![run, t.id, t.seq, t.title, t.status, t.attempts, t.reason, t.data.to_string()],
        )?;
        Ok(())
    }

    pub fn tasks(&self, run: &str) -> rusqlite::Result<Vec<TaskRow>> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT id, seq, title, status, attempts, reason, data FROM tasks WHERE run_id=?1 ORDER BY seq, id",
        )?;
        let rows = st.query_map([run], |r| {
            Ok(TaskRow {
                id: r.get(0)?,
                seq: r.get(1)?,
                title: r.get(2)?,
                status: r.get(3)?,
                attempts: r.get(4)?,
                reason: r.get(5)?,
                data: serde_json::from_str(&r.get::<_, String>(6)?).unwrap_or_default(),
            })
        })?;
        rows.collect()
    }

    pub fn task(&self, run: &str, id: &str) -> rusqlite::Result<Option<TaskRow>> {
        Ok(self.tasks(run)?.into_iter().find(|t| t.id == id))
    }

    pub fn add_step(&self, run: &str, s: &StepRow) -> rusqlite::Result<()> {
        self.conn().execute(
            "INSERT INTO steps(run_id, ts, task_id, role, attempt, kind, status, summary, detail, call_id, duration_ms)
             VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
            params![
                run,
                crate::db::now_ms(),
                s.task_id,
                s.role,
                s.attempt,
                s.kind,
                s.status,
                s.summary,
                s.detail,
                s.call_id,
                s.duration_ms as i64
            ],
        )?;
        Ok(())
    }

    pub fn steps(&self, run: &str) -> rusqlite::Result<Vec<StepRow>> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT id, ts, task_id, role, attempt, kind, status, summary, detail, call_id, duration_ms FROM steps WHERE run_id=?1 ORDER BY id",
        )?;
        let rows = st.query_map([run], step_row)?;
        rows.collect()
    }

    /// Steps of any run after step id `after`, oldest first, at most
    /// `limit`, each with its run: a tail of every timeline.
    pub fn steps_since(
        &self,
        after: i64,
        limit: usize,
    ) -> rusqlite::Result<Vec<(String, StepRow)>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT id, ts, task_id, role, attempt, kind, status, summary, detail, call_id, duration_ms, run_id FROM steps WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = st.query_map(params![after, limit as i64], |r| {
            Ok((r.get(11)?, step_row(r)?))
        })?;
        rows.collect()
    }

    /// The newest step's id (0 when there is none).
    pub fn last_step_id(&self) -> rusqlite::Result<i64> {
        self.conn()
            .query_row("SELECT COALESCE(MAX(id), 0) FROM steps", [], |r| r.get(0))
    }

    /// Model usage of a run: per role (tokens, cost in micro-USD, calls).
    pub fn usage(&self, run: &str) -> rusqlite::Result<Vec<(String, u64, u64, u64)>> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT COALESCE(role, plugin), SUM(input_tokens + output_tokens), SUM(cost_micro_usd), COUNT(*)
             FROM model_calls WHERE run_id=?1 AND outcome='ok' GROUP BY 1 ORDER BY 1",
        )?;
        let rows = st.query_map([run], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
                r.get::<_, i64>(3)? as u64,
            ))
        })?;
        rows.collect()
    }

    /// Every model call of a run, oldest first.
    pub fn model_calls(&self, run: &str) -> rusqlite::Result<Vec<crate::journal::ModelCallRecord>> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT ts, call_id, run_id, task_id, role, plugin, model, provider, input_tokens, output_tokens, cost_micro_usd, latency_ms, outcome, detail
             FROM model_calls WHERE run_id=?1 ORDER BY id",
        )?;
        let rows = st.query_map([run], |r| {
            Ok(crate::journal::ModelCallRecord {
                ts: r.get(0)?,
                call_id: r.get(1)?,
                run_id: r.get(2)?,
                task_id: r.get(3)?,
                role: r.get(4)?,
                plugin: r.get(5)?,
                model: r.get(6)?,
                provider: r.get(7)?,
                input_tokens: r.get::<_, i64>(8)? as u64,
                output_tokens: r.get::<_, i64>(9)? as u64,
                cost_micro_usd: r.get::<_, i64>(10)? as u64,
                latency_ms: r.get::<_, i64>(11)? as u64,
                outcome: r.get(12)?,
                detail: r.get(13)?,
            })
        })?;
        rows.collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The run store's tables are its own: a database the journal and
    /// registry made (as a host that never ran anything leaves it) gets
    /// them when the store is opened.
    #[test]
    fn the_run_store_creates_its_tables_when_opened() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("factory.db");
        let journal_only = crate::db::open(&path).unwrap();
        let runs = "SELECT 1 FROM sqlite_master WHERE name='runs'";
        assert!(!journal_only.prepare(runs).unwrap().exists([]).unwrap());
        let store = Store::open(&path).unwrap();
        for table in ["runs", "tasks", "steps"] {
            let exists = store
                .conn()
                .prepare("SELECT 1 FROM sqlite_master WHERE name=?1")
                .unwrap()
                .exists([table])
                .unwrap();
            assert!(exists, "the run store's table {table} was created");
        }
        assert!(store.runs(10).unwrap().is_empty());
    }
}
