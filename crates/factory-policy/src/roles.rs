//! The per-role grant table: what each kind of role gets for one step of a
//! run. A role never asks; the host gives it this, cut further by the
//! role plugin's own trust level when the policy is compiled.

use crate::grants::Grant;
use std::path::PathBuf;

/// The role kinds of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RoleKind {
    Architect,
    Coder,
    Tester,
    Reviewer,
    Documenter,
    Deployer,
}

impl RoleKind {
    pub const ALL: [RoleKind; 6] = [
        RoleKind::Architect,
        RoleKind::Coder,
        RoleKind::Tester,
        RoleKind::Reviewer,
        RoleKind::Documenter,
        RoleKind::Deployer,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RoleKind::Architect => "architect",
            RoleKind::Coder => "coder",
            RoleKind::Tester => "tester",
            RoleKind::Reviewer => "reviewer",
            RoleKind::Documenter => "documenter",
            RoleKind::Deployer => "deployer",
        }
    }

    pub fn from_name(name: &str) -> Option<RoleKind> {
        RoleKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The tools a role of this kind may call (acting with its grants).
    pub fn tools(self) -> &'static [&'static str] {
        match self {
            RoleKind::Architect | RoleKind::Reviewer => &["read-file", "list-files", "search-text"],
            RoleKind::Coder | RoleKind::Documenter => &[
                "read-file",
                "write-file",
                "list-files",
                "search-text",
                "apply-patch",
            ],
            RoleKind::Tester | RoleKind::Deployer => &[],
        }
    }

    /// Whether the role may write its working directory.
    pub fn writes(self) -> bool {
        matches!(self, RoleKind::Coder | RoleKind::Documenter)
    }

    /// In words, for `plugin inspect`: what one step of this kind gets.
    pub fn describe(self) -> String {
        let dir = if self.writes() {
            "read-write"
        } else {
            "read-only"
        };
        let tools = if self.tools().is_empty() {
            "no tools".to_string()
        } else {
            format!("tools {}", self.tools().join(", "))
        };
        let extra = match self {
            RoleKind::Tester => "; a scratch directory and the [test] command",
            RoleKind::Deployer => "; the [deploy] commands",
            _ => "",
        };
        format!("its worktree {dir}; {tools}; the run's model{extra}")
    }
}

/// What one step may touch besides its kind's tools and the run's model.
#[derive(Clone, Debug)]
pub struct StepAccess {
    /// The worktree the role works on (read-write only for writing kinds).
    pub workdir: PathBuf,
    /// A writable scratch directory outside the repository (tests' output).
    pub scratch: Option<PathBuf>,
    /// Programs the step may run in the exec sandbox.
    pub exec: Vec<String>,
}

/// The grants of one step of `kind`: its directory (read-write for the
/// kinds that write), its scratch, its programs, its kind's tools and the
/// run's model.
pub fn step_grants(kind: RoleKind, access: &StepAccess, model: Option<&str>) -> Vec<Grant> {
    let mut g = vec![if kind.writes() {
        Grant::Write(access.workdir.clone())
    } else {
        Grant::Read(access.workdir.clone())
    }];
    if let Some(s) = &access.scratch {
        g.push(Grant::Write(s.clone()));
    }
    g.extend(access.exec.iter().cloned().map(Grant::Exec));
    g.extend(kind.tools().iter().map(|t| Grant::Tool(t.to_string())));
    if let Some(m) = model {
        g.push(Grant::Model(m.to_string()));
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_coders_and_documenters_write_and_reviewers_read() {
        let a = StepAccess {
            workdir: "/w".into(),
            scratch: None,
            exec: vec![],
        };
        for k in RoleKind::ALL {
            let g = step_grants(k, &a, Some("m"));
            assert_eq!(
                g.contains(&Grant::Write("/w".into())),
                matches!(k, RoleKind::Coder | RoleKind::Documenter),
                "{k:?}"
            );
            assert!(!g.iter().any(|x| matches!(x, Grant::Exec(_))), "{k:?}");
            assert_eq!(RoleKind::from_name(k.name()), Some(k));
        }
        let r = step_grants(RoleKind::Reviewer, &a, None);
        assert!(!r.iter().any(|x| *x == Grant::Tool("write-file".into())));
        assert!(RoleKind::Tester.describe().contains("no tools"));
    }
}
