//! Model budgets of a factory run, enforced by the host: every model call a
//! role makes (directly or through a tool it calls) is checked against the
//! run's and the role's token and cost limits before it is sent, and
//! charged after. Guests cannot see or change their budget.

use factory_sandbox::hooks::Refused;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// Token and cost limits (None: unlimited).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Allowance {
    pub max_tokens: Option<u64>,
    pub max_cost_micro_usd: Option<u64>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spent {
    pub tokens: u64,
    pub cost_micro_usd: u64,
    pub calls: u64,
}

impl Spent {
    fn add(&mut self, tokens: u64, cost: u64) {
        self.tokens += tokens;
        self.cost_micro_usd += cost;
        self.calls += 1;
    }
}

/// A run's limits and what it has spent, per run and per role.
#[derive(Debug, Default)]
pub struct Budget {
    run: Allowance,
    roles: HashMap<String, Allowance>,
    spent: Mutex<(Spent, HashMap<String, Spent>)>,
    /// Why the run must stop whatever its budget (a strict replay that no
    /// longer matches): no further model call is made.
    halt: Mutex<Option<String>>,
}

fn over(a: &Allowance, s: &Spent, what: &str) -> Option<String> {
    if let Some(max) = a.max_tokens.filter(|m| s.tokens >= *m) {
        return Some(format!(
            "{what} token budget exhausted ({} of {max} tokens used)",
            s.tokens
        ));
    }
    if let Some(max) = a.max_cost_micro_usd.filter(|m| s.cost_micro_usd >= *m) {
        return Some(format!(
            "{what} cost budget exhausted (${:.4} of ${:.4} spent)",
            s.cost_micro_usd as f64 / 1e6,
            max as f64 / 1e6
        ));
    }
    None
}

impl Budget {
    /// A budget that already spent `spent` (a resumed run).
    pub fn new(
        run: Allowance,
        roles: HashMap<String, Allowance>,
        spent: (Spent, HashMap<String, Spent>),
    ) -> Budget {
        Budget {
            run,
            roles,
            spent: Mutex::new(spent),
            halt: Mutex::new(None),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Spent, HashMap<String, Spent>)> {
        self.spent.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Err(why) when the run or `role` may not make another call.
    pub fn check(&self, role: &str) -> Result<(), Refused> {
        if let Some(why) = self.halted() {
            return Err(Refused(why));
        }
        let g = self.lock();
        if let Some(why) = over(&self.run, &g.0, "the run's") {
            return Err(Refused(why));
        }
        if let (Some(a), Some(s)) = (self.roles.get(role), g.1.get(role))
            && let Some(why) = over(a, s, &format!("the {role} role's"))
        {
            return Err(Refused(why));
        }
        Ok(())
    }

    pub fn charge(&self, role: &str, tokens: u64, cost: u64) {
        let mut g = self.lock();
        g.0.add(tokens, cost);
        g.1.entry(role.to_string()).or_default().add(tokens, cost);
    }

    /// Stop the run: every later model call is refused with `why`.
    pub fn halt(&self, why: String) {
        self.halt
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(why);
    }

    pub fn halted(&self) -> Option<String> {
        self.halt.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn spent(&self) -> Spent {
        self.lock().0
    }
}

/// What a call does for a run: which run, task and role, under which
/// budget. Nested tool calls inherit their caller's scope.
#[derive(Debug)]
pub struct RunScope {
    pub run_id: String,
    pub task_id: String,
    /// The role kind (`coder`, …): the budget's and the replay's key.
    pub role: String,
    /// 1 for a step's first try; each feedback round adds one.
    pub attempt: u32,
    pub budget: std::sync::Arc<Budget>,
    /// Model calls made in this scope so far (the replay sequence).
    seq: AtomicU32,
    /// What the step may still write through the filesystem.
    pub quota: std::sync::Arc<crate::caps::quota::Quota>,
}

impl RunScope {
    /// The same scope with other write quotas.
    pub fn with_quota(mut self, limits: crate::caps::quota::QuotaLimits) -> RunScope {
        self.quota = crate::caps::quota::Quota::new(limits);
        self
    }

    pub fn new(
        run_id: &str,
        task_id: &str,
        role: &str,
        attempt: u32,
        budget: std::sync::Arc<Budget>,
    ) -> RunScope {
        RunScope {
            run_id: run_id.into(),
            task_id: task_id.into(),
            role: role.into(),
            attempt,
            budget,
            seq: AtomicU32::new(0),
            quota: crate::caps::quota::Quota::new(crate::caps::quota::QuotaLimits::DEFAULT),
        }
    }

    /// The key of this step's model conversation in a recording.
    pub fn stream(&self) -> String {
        format!("{}/{}/{}", self.task_id, self.role, self.attempt)
    }

    /// The next model-call number of this step.
    pub fn next_seq(&self) -> u32 {
        self.seq.fetch_add(1, Ordering::SeqCst)
    }
}

/// A run step is the account its calls run on: its budget is checked
/// before each model call and charged after, its write quota bounds the
/// filesystem, and its records carry the run, task and role.
impl factory_sandbox::Account for RunScope {
    fn id(&self) -> &str {
        &self.run_id
    }
    fn task(&self) -> Option<&str> {
        Some(&self.task_id)
    }
    fn role(&self) -> Option<&str> {
        Some(&self.role)
    }
    fn next_model_call(&self) -> (String, u32) {
        (self.stream(), self.next_seq())
    }
    fn check_model_call(&self) -> Result<(), Refused> {
        self.budget.check(&self.role)
    }
    fn charge_model_call(&self, tokens: u64, cost_micro_usd: u64) {
        self.budget.charge(&self.role, tokens, cost_micro_usd);
    }
    fn halt(&self, why: String) {
        self.budget.halt(why);
    }
    fn write_quota(&self) -> Option<std::sync::Arc<crate::caps::quota::Quota>> {
        Some(self.quota.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_and_role_limits() {
        let mut roles = HashMap::new();
        roles.insert(
            "coder".to_string(),
            Allowance {
                max_tokens: Some(100),
                max_cost_micro_usd: None,
            },
        );
        let b = Budget::new(
            Allowance {
                max_tokens: None,
                max_cost_micro_usd: Some(1_000),
            },
            roles,
            Default::default(),
        );
        assert!(b.check("coder").is_ok());
        b.charge("coder", 150, 10);
        assert!(
            b.check("coder")
                .unwrap_err()
                .to_string()
                .contains("coder role's token budget")
        );
        assert!(b.check("reviewer").is_ok());
        b.charge("reviewer", 1, 990);
        assert!(
            b.check("reviewer")
                .unwrap_err()
                .to_string()
                .contains("run's cost budget")
        );
        assert_eq!(b.spent().calls, 2);
    }
}
