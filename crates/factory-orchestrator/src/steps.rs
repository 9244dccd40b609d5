//! One role step: compute the role's grants for this step, run it in its
//! own sandboxed instance under the run's budget, record it in the
//! timeline. Grants only ever narrow from here: a role gets the
//! directories of its step and nothing else, whatever it asks.

use super::git;
use super::store::StepRow;
use super::{Ctx, RunFailure};
use crate::budget::RunScope;
use crate::grants::Grant;
use crate::policy::LimitOverrides;
use crate::runtime::Outcome;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Instant;

/// The role kinds and what a step may touch: the policy crate's table.
pub use factory_policy::roles::{RoleKind as Kind, StepAccess as Access};

/// A step that did not produce its output.
#[derive(Debug)]
pub struct StepError {
    pub message: String,
    /// The run's (or the role's) budget is exhausted.
    pub budget: bool,
}

impl Ctx {
    fn grants(&self, kind: Kind, access: &Access) -> Vec<Grant> {
        factory_policy::step_grants(kind, access, self.model.as_deref())
    }

    pub fn plugin_for(&self, kind: Kind) -> &str {
        self.cfg.roles.plugin(kind)
    }

    /// Run one step of `kind` for `task_id`; its typed output.
    pub async fn step<I: Serialize, O: DeserializeOwned + Serialize>(
        &self,
        task_id: &str,
        kind: Kind,
        attempt: u32,
        input: &I,
        access: &Access,
    ) -> Result<O, StepError> {
        let plugin = self.plugin_for(kind).to_string();
        let started = Instant::now();
        self.progress.emit(&super::progress::RunEvent::StepStarted {
            task_id,
            role: kind.name(),
            attempt,
        });
        let input = serde_json::to_string(input).map_err(|e| StepError {
            message: format!("cannot serialize the {} input: {e}", kind.name()),
            budget: false,
        })?;
        let b = &self.cfg.budget;
        let scope = Arc::new(
            RunScope::new(
                &self.run_id,
                task_id,
                kind.name(),
                attempt,
                self.budget.clone(),
            )
            .with_quota(crate::caps::quota::QuotaLimits {
                bytes: b.max_step_write_bytes,
                files: b.max_step_files,
                file_size: b.max_file_bytes,
            }),
        );
        let limits = LimitOverrides {
            deadline_ms: Some(self.cfg.pipeline.step_timeout.as_millis() as u64),
            ..Default::default()
        };
        let grants = self.grants(kind, access);
        let refs_before = git::refs(&self.repo).ok();
        let result = self
            .host
            .run_role(&plugin, &input, &grants, limits, scope)
            .await;
        // No role step moves a ref: the host commits and merges after it.
        // One that did (outside this run's own branches) is an attack on
        // the repository, and the run stops.
        if let Some(before) = refs_before {
            let after = git::refs(&self.repo).unwrap_or_default();
            let own = format!("refs/heads/{}", self.branch);
            let moved = git::moved_refs(&before, &after, &own);
            if !moved.is_empty() {
                let why = format!(
                    "the repository's refs moved during the {} step ({plugin}): {}",
                    kind.name(),
                    moved.join("; ")
                );
                self.host.journal().event(crate::journal::EventRecord {
                    run_id: Some(self.run_id.clone()),
                    ..crate::journal::EventRecord::new(&plugin, "tamper", why.clone())
                });
                self.budget.halt(why.clone());
                return Err(StepError {
                    message: why,
                    budget: false,
                });
            }
        }
        let mut row = StepRow {
            task_id: task_id.to_string(),
            role: kind.name().to_string(),
            attempt,
            kind: "role".into(),
            duration_ms: started.elapsed().as_millis() as u64,
            ..Default::default()
        };
        let out = match result {
            Err(e) => Err(format!("cannot run role `{plugin}`: {e}")),
            Ok(inv) => {
                row.call_id = Some(inv.call_id.clone());
                match inv.outcome {
                    Outcome::Ok(json) => serde_json::from_str::<O>(&json).map_err(|e| {
                        format!(
                            "{plugin} returned output that is not a {} result: {e}",
                            kind.name()
                        )
                    }),
                    Outcome::ToolError(f) => {
                        Err(format!("{plugin} failed: {}", super::failure_text(&f)))
                    }
                    Outcome::Limit(k, m) => Err(format!("{plugin} hit a sandbox limit ({k}): {m}")),
                }
            }
        };
        match out {
            Ok(o) => {
                row.status = "ok".into();
                let v = serde_json::to_value(&o).unwrap_or_default();
                row.summary = super::summarize(kind, &v);
                row.detail = super::cap_text(&v.to_string(), 64 * 1024);
                self.record(&row);
                Ok(o)
            }
            Err(message) => {
                // A halted run (a strict replay that no longer matches)
                // stops with the reason, whatever the role made of it.
                if let Some(why) = self.budget.halted() {
                    row.status = "failed".into();
                    row.summary = why.clone();
                    self.record(&row);
                    return Err(StepError {
                        message: why,
                        budget: false,
                    });
                }
                let budget = self.budget.check(kind.name()).err();
                row.status = "failed".into();
                row.summary = message.clone();
                self.record(&row);
                Err(StepError {
                    message: match &budget {
                        Some(b) => format!("{message} ({b})"),
                        None => message,
                    },
                    budget: budget.is_some(),
                })
            }
        }
    }

    pub fn record(&self, row: &StepRow) {
        if let Err(e) = self.store.add_step(&self.run_id, row) {
            tracing::error!("cannot record a step: {e}");
        }
        let spent = self.budget.spent();
        self.progress.emit(&super::progress::RunEvent::Recorded {
            row,
            tokens: spent.tokens,
            cost_usd: spent.cost_micro_usd as f64 / 1e6,
        });
    }

    /// A timeline note (merges, gates, delivery, loop decisions).
    pub fn note(&self, task_id: &str, kind: &str, status: &str, summary: String, detail: String) {
        self.record(&StepRow {
            task_id: task_id.into(),
            role: "orchestrator".into(),
            kind: kind.into(),
            status: status.into(),
            summary,
            detail,
            ..Default::default()
        });
    }
}

impl From<StepError> for RunFailure {
    fn from(e: StepError) -> Self {
        if e.budget {
            RunFailure::Budget(e.message)
        } else {
            RunFailure::Failed(e.message)
        }
    }
}
