//! The architect's plan: subtasks with declared scopes and dependencies,
//! forming a DAG the orchestrator schedules.

use crate::task::{check_scope_path, in_scope, scopes_overlap};
use serde::{Deserialize, Serialize};

/// The most subtasks a plan may have.
pub const MAX_SUBTASKS: usize = 16;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subtask {
    /// Short id, `[a-z0-9-]`, unique in the plan (e.g. `t1`, `fix-mean`).
    pub id: String,
    pub title: String,
    /// What the coder should do, in prose.
    pub instructions: String,
    /// Repository-relative files or directories this subtask may change.
    #[serde(default)]
    pub scope: Vec<String>,
    /// Ids of subtasks that must be done first.
    #[serde(default)]
    pub depends_on: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub summary: String,
    pub subtasks: Vec<Subtask>,
}

impl Plan {
    /// Every problem with the plan; `task_scope` (if declared) must contain
    /// each subtask's scope.
    pub fn problems(&self, task_scope: &[String]) -> Vec<String> {
        let mut p = Vec::new();
        if self.subtasks.is_empty() {
            p.push("subtasks: empty; a plan needs at least one".into());
        }
        if self.subtasks.len() > MAX_SUBTASKS {
            p.push(format!(
                "subtasks: {} of them, at most {MAX_SUBTASKS}",
                self.subtasks.len()
            ));
        }
        for (i, s) in self.subtasks.iter().enumerate() {
            let valid_id = !s.id.is_empty()
                && s.id.len() <= 32
                && s.id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !valid_id {
                p.push(format!(
                    "subtasks[{i}].id: {:?} must be 1-32 of [a-z0-9-]",
                    s.id
                ));
            }
            if self.subtasks[..i].iter().any(|o| o.id == s.id) {
                p.push(format!("subtasks[{i}].id: {:?} is used twice", s.id));
            }
            if s.title.trim().is_empty() {
                p.push(format!("subtasks[{i}].title: empty"));
            }
            for d in &s.depends_on {
                if !self.subtasks.iter().any(|o| &o.id == d) {
                    p.push(format!("subtasks[{i}].depends_on: no subtask {d:?}"));
                } else if d == &s.id {
                    p.push(format!("subtasks[{i}].depends_on: depends on itself"));
                }
            }
            for (j, sc) in s.scope.iter().enumerate() {
                if let Err(e) = check_scope_path(sc) {
                    p.push(format!("subtasks[{i}].scope[{j}]: {e}"));
                } else if !task_scope.is_empty()
                    && !task_scope
                        .iter()
                        .any(|t| in_scope(sc.trim_end_matches('/'), t))
                {
                    p.push(format!(
                        "subtasks[{i}].scope[{j}]: {sc:?} is outside the task's scope {task_scope:?}"
                    ));
                }
            }
        }
        if p.is_empty() && self.order().is_none() {
            p.push("depends_on: the dependencies form a cycle".into());
        }
        p
    }

    /// The subtask ids in an order that respects dependencies, or None if
    /// they form a cycle.
    pub fn order(&self) -> Option<Vec<String>> {
        let mut done: Vec<String> = Vec::new();
        while done.len() < self.subtasks.len() {
            let next = self
                .subtasks
                .iter()
                .find(|s| !done.contains(&s.id) && s.depends_on.iter().all(|d| done.contains(d)))?;
            done.push(next.id.clone());
        }
        Some(done)
    }

    /// Whether two subtasks may run at the same time.
    pub fn independent(a: &Subtask, b: &Subtask) -> bool {
        !scopes_overlap(&a.scope, &b.scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(id: &str, scope: &[&str], deps: &[&str]) -> Subtask {
        Subtask {
            id: id.into(),
            title: id.into(),
            instructions: String::new(),
            scope: scope.iter().map(|s| s.to_string()).collect(),
            depends_on: deps.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn dag_checks() {
        let ok = Plan {
            summary: "s".into(),
            subtasks: vec![st("a", &["src/a.py"], &[]), st("b", &["src/b.py"], &["a"])],
        };
        assert!(ok.problems(&[]).is_empty());
        assert_eq!(ok.order().unwrap(), ["a", "b"]);
        let cyc = Plan {
            summary: "s".into(),
            subtasks: vec![st("a", &[], &["b"]), st("b", &[], &["a"])],
        };
        assert!(cyc.problems(&[]).iter().any(|p| p.contains("cycle")));
        let bad = Plan {
            summary: "s".into(),
            subtasks: vec![st("A", &["../x"], &["zz"]), st("A", &[], &[])],
        };
        let p = bad.problems(&[]);
        assert!(p.iter().any(|p| p.contains("[a-z0-9-]")));
        assert!(p.iter().any(|p| p.contains("used twice")));
        assert!(p.iter().any(|p| p.contains("no subtask \"zz\"")));
        assert!(p.iter().any(|p| p.contains("scope[0]")));
        let out = Plan {
            summary: "s".into(),
            subtasks: vec![st("a", &["lib/x.py"], &[])],
        };
        assert!(
            out.problems(&["src".into()])
                .iter()
                .any(|p| p.contains("outside the task's scope"))
        );
        assert!(Plan::independent(
            &st("a", &["src/a.py"], &[]),
            &st("b", &["src/b.py"], &[])
        ));
        assert!(!Plan::independent(
            &st("a", &["src"], &[]),
            &st("b", &["src/b.py"], &[])
        ));
    }
}
