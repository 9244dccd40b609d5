//! Running roles and intake adapters: the orchestrator's and `factory
//! intake`'s way in. A role step runs with the grants the orchestrator
//! computed for it, cut to the role plugin's own trust level; an intake
//! adapter runs with no grants at all.

use super::{Host, Invocation, InvokeError, Outcome};
use crate::grants::Grant;
use crate::journal::EventRecord;
use crate::policy::{self, LimitOverrides};
use crate::trust::TrustLevel;
use factory_sandbox::{Account, CallOptions, Entry, Loaded, World};
use std::sync::Arc;
use std::time::Duration;

impl Host {
    fn load_as(&self, name: &str, world: World) -> Result<Arc<Loaded>, InvokeError> {
        let loaded = self.inner.load(&self.sandbox, name)?;
        if loaded.pre.world() != world {
            return Err(InvokeError::NotA {
                name: name.to_string(),
                found: loaded.plugin.world.noun(),
                expected: world.noun(),
            });
        }
        Ok(loaded)
    }

    /// Run one step of role plugin `name` on `account` (a run step, or an
    /// operator's one-off call). `grants` are what the step needs; the
    /// plugin's trust level cuts any above its ceiling (each cut is
    /// journaled), and `limits` are clamped to that ceiling too.
    pub async fn run_role(
        &self,
        name: &str,
        input: &str,
        grants: &[Grant],
        limits: LimitOverrides,
        account: Arc<dyn Account>,
    ) -> Result<Invocation, InvokeError> {
        let loaded = self.load_as(name, World::Role)?;
        let merged = LimitOverrides {
            memory: loaded.plugin.limits.memory.or(limits.memory),
            // The step's time limit, never beyond the operator's limit.
            deadline_ms: match (limits.deadline_ms, loaded.plugin.limits.deadline_ms) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            max_result: loaded.plugin.limits.max_result.or(limits.max_result),
            max_output: loaded.plugin.limits.max_output.or(limits.max_output),
        };
        let policy = policy::compile(name, loaded.plugin.trust, grants, &merged);
        for cut in &policy.cut {
            self.inner.journal.event(EventRecord {
                run_id: Some(account.id().to_string()),
                target: cut.grant.clone(),
                ..EventRecord::new(
                    name,
                    if cut.narrowed_to.is_some() {
                        "narrowed"
                    } else {
                        "cut"
                    },
                    format!("role {name}: {}", cut.describe()),
                )
            });
        }
        let timeout = merged.deadline_ms.map(Duration::from_millis);
        Ok(self
            .sandbox
            .run(
                &loaded,
                Arc::new(policy),
                Entry::Role(input),
                None,
                CallOptions {
                    timeout,
                    ..Default::default()
                },
                Some(account),
            )
            .await)
    }

    /// How sure intake adapter `name` is that `input` is its format (0-100).
    pub async fn intake_detect(&self, name: &str, input: &str) -> Result<u8, InvokeError> {
        let loaded = self.load_as(name, World::Intake)?;
        let inv = self.run_intake(&loaded, Entry::Detect(input)).await;
        Ok(match inv.outcome {
            Outcome::Ok(n) => n.parse().unwrap_or(0),
            _ => 0,
        })
    }

    /// Parse `input` with intake adapter `name`: a task (JSON) or its error.
    pub async fn intake_parse(
        &self,
        name: &str,
        input: &str,
        source: &str,
    ) -> Result<Invocation, InvokeError> {
        let loaded = self.load_as(name, World::Intake)?;
        Ok(self
            .run_intake(&loaded, Entry::Parse { input, source })
            .await)
    }

    async fn run_intake(&self, loaded: &Loaded, entry: Entry<'_>) -> Invocation {
        // Pure compute: no grants, whatever the operator granted.
        let policy = policy::compile(
            &loaded.plugin.name,
            loaded.plugin.trust.min(TrustLevel::Untrusted),
            &[],
            &loaded.plugin.limits,
        );
        self.sandbox
            .run(
                loaded,
                Arc::new(policy),
                entry,
                None,
                CallOptions::default(),
                None,
            )
            .await
    }
}
