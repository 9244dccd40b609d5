//! The one shape of a durable step: a task row (a subtask or a phase) is
//! committed as in flight, with its attempt counted, before any of the
//! attempt's work starts, and committed as done when it ends. A run killed
//! in between finds the row in flight and redoes that attempt; a run that
//! finds it done skips it.

use crate::state::TaskStatus;
use crate::store::TaskRow;
use crate::{Ctx, RunFailure};

impl Ctx {
    /// Start the next attempt of `t`.
    pub fn begin_attempt(&self, t: &mut TaskRow) -> Result<(), RunFailure> {
        t.attempts += 1;
        t.status = TaskStatus::InFlight;
        self.commit(t)
    }

    /// `t` is finished; a resumed run skips it.
    pub fn complete(&self, t: &mut TaskRow) -> Result<(), RunFailure> {
        t.status = TaskStatus::Done;
        self.commit(t)
    }

    /// Write `t` now: the work it describes does not go on unrecorded.
    fn commit(&self, t: &TaskRow) -> Result<(), RunFailure> {
        self.store.upsert_task(&self.run_id, t).map_err(|e| {
            RunFailure::Failed(format!(
                "cannot record task {} in the factory database: {e}",
                t.id
            ))
        })
    }
}
