//! What workers report on the events stream (`events.<run id>`), and the
//! rule that decides which reports count: the fence.
//!
//! A worker first publishes a [`Event::Claim`] with the fence its lease got
//! from the bucket; its reports carry that fence. Read in stream order, a
//! report counts only if its fence is the task's newest claim: a worker
//! that lost its lease (and does not know yet) is refused from the moment
//! the next holder claimed. The service ingests by this rule, and a worker
//! taking a run over rebuilds the run's state by the same rule, so both see
//! the same journal.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The subject of `run_id`'s events.
pub fn subject(run_id: &str) -> String {
    format!("events.{run_id}")
}

/// Every event's header: who wrote it, under which lease.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub task_id: String,
    pub run_id: String,
    /// The worker's `--name`.
    pub worker: String,
    pub fence: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Event {
    /// The worker holds the task's lease with this fence.
    Claim {
        #[serde(flatten)]
        origin: Origin,
    },
    /// Rows of the run's state or journal, as the worker's database has
    /// them (`table`: runs, tasks, steps, events, invocations,
    /// model_calls); each a column → value map.
    Rows {
        #[serde(flatten)]
        origin: Origin,
        table: String,
        rows: Vec<serde_json::Map<String, serde_json::Value>>,
    },
    /// An attempt that could not run (the clone failed, the run could not
    /// start); the task is delivered again, up to the limit.
    Attempt {
        #[serde(flatten)]
        origin: Origin,
        reason: String,
    },
    /// The task ended: `state` is done, blocked or failed.
    Finished {
        #[serde(flatten)]
        origin: Origin,
        state: String,
        reason: String,
    },
}

impl Event {
    pub fn origin(&self) -> &Origin {
        match self {
            Event::Claim { origin }
            | Event::Rows { origin, .. }
            | Event::Attempt { origin, .. }
            | Event::Finished { origin, .. } => origin,
        }
    }
}

/// The newest claim per task, in stream order.
#[derive(Default)]
pub struct Fences {
    newest: HashMap<String, u64>,
}

impl Fences {
    /// Whether `e` counts: a claim newer than (or the same as) the last, or
    /// a report under the newest claim.
    pub fn admit(&mut self, e: &Event) -> bool {
        let o = e.origin();
        let newest = self.newest.get(&o.task_id).copied().unwrap_or(0);
        match e {
            Event::Claim { .. } if o.fence >= newest => {
                self.newest.insert(o.task_id.clone(), o.fence);
                true
            }
            Event::Claim { .. } => false,
            _ => o.fence == newest && newest > 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(fence: u64) -> Origin {
        Origin {
            task_id: "t-1".into(),
            run_id: "r1".into(),
            worker: "w".into(),
            fence,
        }
    }

    #[test]
    fn only_the_newest_claims_reports_count() {
        let mut f = Fences::default();
        let rows = |fence| Event::Rows {
            origin: o(fence),
            table: "steps".into(),
            rows: vec![],
        };
        assert!(!f.admit(&rows(1)), "no claim yet");
        assert!(f.admit(&Event::Claim { origin: o(1) }));
        assert!(f.admit(&rows(1)));
        assert!(f.admit(&Event::Claim { origin: o(2) }));
        assert!(!f.admit(&rows(1)), "the old holder is fenced off");
        assert!(f.admit(&rows(2)));
        assert!(!f.admit(&Event::Claim { origin: o(1) }), "no going back");
    }
}
