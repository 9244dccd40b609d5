//! The queue's record of tasks that run on remote workers (the scale-out,
//! docs/scale-out.md): the service publishes them, workers claim them with
//! a fence from the lease bucket, and only the newest claim's writes count.

use super::SqliteQueue;
use crate::queue::{QueueError, TaskState};
use factory_store::db::now_ms;
use rusqlite::{OptionalExtension, params};

impl SqliteQueue {
    /// The run `id` will have: `run_id`, or the one chosen before. None if
    /// there is no such task.
    pub(super) fn assign_run_(&self, id: &str, run_id: &str) -> Result<Option<String>, QueueError> {
        let conn = self.conn();
        conn.execute(
            "UPDATE serve_tasks SET run_id=?2, updated=?3 WHERE id=?1 AND run_id IS NULL",
            params![id, run_id, now_ms()],
        )?;
        Ok(conn
            .query_row("SELECT run_id FROM serve_tasks WHERE id=?1", [id], |r| {
                r.get(0)
            })
            .optional()?
            .flatten())
    }

    /// A worker claimed the task with `fence`: it runs there, and only
    /// this claim's writes count from now on. False for an older fence, or
    /// a task that ended.
    pub(super) fn remote_claim_(
        &self,
        id: &str,
        worker: &str,
        fence: u64,
    ) -> Result<bool, QueueError> {
        let n = self.conn().execute(
            "UPDATE serve_tasks SET state='running', worker=?2, fence=?3, attempts=attempts+1, updated=?4
             WHERE id=?1 AND fence<?3 AND state IN ('queued','running')",
            params![id, worker, fence as i64, now_ms()],
        )?;
        Ok(n == 1)
    }

    /// The worker holding `fence` ended the task.
    pub(super) fn remote_end_(
        &self,
        id: &str,
        fence: u64,
        state: TaskState,
        reason: &str,
    ) -> Result<bool, QueueError> {
        let n = self.conn().execute(
            "UPDATE serve_tasks SET state=?3, reason=?4, worker=NULL, updated=?5
             WHERE id=?1 AND fence=?2 AND state='running'",
            params![id, fence as i64, state.as_str(), reason, now_ms()],
        )?;
        Ok(n == 1)
    }

    /// No worker could end the task: it failed, with `reason`. The fence
    /// moves on, so a late write of its last holder is refused.
    pub(super) fn dead_letter_(&self, id: &str, reason: &str) -> Result<bool, QueueError> {
        let n = self.conn().execute(
            "UPDATE serve_tasks SET state='failed', reason=?2, worker=NULL, fence=fence+1, updated=?3
             WHERE id=?1 AND state IN ('queued','running')",
            params![id, reason, now_ms()],
        )?;
        Ok(n == 1)
    }

    pub(super) fn note_(&self, id: &str, note: &str) -> Result<(), QueueError> {
        Ok(super::add_note(&self.conn(), id, note)?)
    }
}
