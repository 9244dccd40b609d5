//! Leases in a JetStream key-value bucket, one key per task, written only
//! by compare-and-swap on the entry's revision. A lease carries a fencing
//! token that grows with every new holder: whoever checks a worker's
//! writes (the service, on each event; delivery, before a push) compares
//! it with the entry's, so a worker that lost its lease is refused even if
//! it does not know it yet.

use super::{NatsError, js_err};
use async_nats::jetstream::kv;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The holder of a cancelled task's lease.
pub const CANCELLED: &str = "(cancelled)";

#[derive(Clone)]
pub struct Leases {
    pub(super) kv: kv::Store,
}

/// What the bucket holds for a task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub worker: String,
    pub fence: u64,
    /// ms since the epoch; 0 once released.
    pub until: i64,
}

/// A lease held.
#[derive(Clone, Debug)]
pub struct Lease {
    pub task_id: String,
    pub worker: String,
    pub fence: u64,
    pub until: i64,
    /// The entry's revision, for the next compare-and-swap.
    revision: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("task {task} is held by {worker} until {until} (ms)")]
    Held {
        task: String,
        worker: String,
        until: i64,
    },
    #[error("another worker wrote the lease of task {0} first")]
    Raced(String),
    #[error(transparent)]
    Nats(#[from] NatsError),
}

fn now() -> i64 {
    factory_store::db::now_ms()
}

fn key(task: &str) -> String {
    // Keys allow letters, digits, `-`, `_`, `=`, `/` and `.`.
    task.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Leases {
    /// The entry for `task` and its revision, if any.
    pub async fn get(&self, task: &str) -> Result<Option<(Entry, u64)>, NatsError> {
        let e = self.kv.entry(key(task)).await.map_err(js_err)?;
        Ok(match e {
            Some(e) if !e.value.is_empty() => {
                let entry: Entry = serde_json::from_slice(&e.value).map_err(js_err)?;
                Some((entry, e.revision))
            }
            _ => None,
        })
    }

    /// Take `task` for `worker` for `ttl`: free, expired, or already this
    /// worker's. The fence grows with each new holder.
    pub async fn acquire(
        &self,
        task: &str,
        worker: &str,
        ttl: Duration,
    ) -> Result<Lease, LeaseError> {
        let until = now() + ttl.as_millis() as i64;
        let current = self.get(task).await?;
        let fence = match &current {
            Some((e, _)) if e.until > now() && e.worker != worker => {
                return Err(LeaseError::Held {
                    task: task.into(),
                    worker: e.worker.clone(),
                    until: e.until,
                });
            }
            Some((e, _)) => e.fence + 1,
            None => 1,
        };
        let entry = Entry {
            worker: worker.into(),
            fence,
            until,
        };
        let body = serde_json::to_vec(&entry).map_err(js_err)?;
        let written = match current {
            None => self.kv.create(key(task), body.into()).await.map_err(|_| ()),
            Some((_, rev)) => self
                .kv
                .update(key(task), body.into(), rev)
                .await
                .map_err(|_| ()),
        };
        match written {
            Ok(revision) => Ok(Lease {
                task_id: task.into(),
                worker: worker.into(),
                fence,
                until,
                revision,
            }),
            Err(()) => Err(LeaseError::Raced(task.into())),
        }
    }

    /// Keep the lease for another `ttl`; false if it was lost (someone
    /// else wrote the entry). A write NATS may or may not have applied (a
    /// time-out, a restart) is an error, not a loss: the next renewal finds
    /// the entry still this holder's and carries on from it.
    pub async fn renew(&self, lease: &mut Lease, ttl: Duration) -> Result<bool, NatsError> {
        let entry = Entry {
            worker: lease.worker.clone(),
            fence: lease.fence,
            until: now() + ttl.as_millis() as i64,
        };
        let body = serde_json::to_vec(&entry).map_err(js_err)?;
        for _ in 0..2 {
            match self
                .kv
                .update(key(&lease.task_id), body.clone().into(), lease.revision)
                .await
            {
                Ok(rev) => {
                    lease.revision = rev;
                    lease.until = entry.until;
                    return Ok(true);
                }
                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                    // Written since: by this holder (an earlier renewal that
                    // seemed to fail), or by someone else (lost).
                    match self.get(&lease.task_id).await? {
                        Some((e, rev)) if e.worker == lease.worker && e.fence == lease.fence => {
                            lease.revision = rev;
                        }
                        _ => return Ok(false),
                    }
                }
                Err(e) => return Err(js_err(e)),
            }
        }
        Ok(false)
    }

    /// End `task` for good (the service cancelled it): the lease moves to
    /// [`CANCELLED`] with a new fence, forever, so the worker holding it
    /// loses it at its next renewal and no worker takes it again.
    pub async fn cancel(&self, task: &str) -> Result<(), NatsError> {
        for _ in 0..20 {
            let current = self.get(task).await?;
            let entry = Entry {
                worker: CANCELLED.into(),
                fence: current.as_ref().map_or(1, |(e, _)| e.fence + 1),
                until: i64::MAX,
            };
            let body = serde_json::to_vec(&entry).map_err(js_err)?;
            let written = match current {
                None => self.kv.create(key(task), body.into()).await.is_ok(),
                Some((_, rev)) => self.kv.update(key(task), body.into(), rev).await.is_ok(),
            };
            if written {
                return Ok(());
            }
        }
        Err(NatsError::JetStream(format!(
            "the lease of task {task} kept changing; cancel again"
        )))
    }

    /// Let go of the lease with `fence`, if it is still that one; false if
    /// it was lost before. (By fence, not revision: the holder's renewals
    /// run elsewhere.)
    pub async fn release(&self, task: &str, fence: u64) -> Result<bool, NatsError> {
        let Some((e, revision)) = self.get(task).await? else {
            return Ok(false);
        };
        if e.fence != fence {
            return Ok(false);
        }
        let entry = Entry { until: 0, ..e };
        let body = serde_json::to_vec(&entry).map_err(js_err)?;
        Ok(self
            .kv
            .update(key(task), body.into(), revision)
            .await
            .is_ok())
    }

    /// Whether `fence` is the live lease of `task` (what the service checks
    /// before it takes a worker's event, and delivery before it pushes).
    pub async fn holds(&self, task: &str, fence: u64) -> Result<bool, NatsError> {
        Ok(self
            .get(task)
            .await?
            .is_some_and(|(e, _)| e.fence == fence && e.until > now()))
    }
}
