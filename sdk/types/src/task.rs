//! `factory.task/v1`: the structured task intake produces and the
//! orchestrator runs. Documented in `docs/task-schema.md`.

use crate::report::TestFailure;
use serde::{Deserialize, Serialize};

pub const TASK_SCHEMA: &str = "factory.task/v1";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl Priority {
    /// Read a priority from free text ("P1", "urgent", "prio: high", …).
    pub fn from_words(s: &str) -> Option<Priority> {
        let s = s.trim().to_ascii_lowercase();
        let s = s
            .trim_start_matches("priority")
            .trim_start_matches(['-', ':', '/', ' ']);
        Some(match s {
            "p0" | "critical" | "urgent" | "blocker" | "sev1" => Priority::Urgent,
            "p1" | "high" | "important" | "sev2" => Priority::High,
            "p2" | "normal" | "medium" | "moderate" | "sev3" => Priority::Normal,
            "p3" | "p4" | "low" | "minor" | "trivial" | "nice-to-have" => Priority::Low,
            _ => return None,
        })
    }
}

/// Where a task came from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// The intake format: github-issue, markdown, test-output, chat, or an
    /// adapter's own.
    pub format: String,
    /// The file it was read from, or `-` for standard input.
    #[serde(rename = "ref")]
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Always `factory.task/v1`.
    pub schema: String,
    /// One line.
    pub title: String,
    /// What should change and why, in prose.
    pub intent: String,
    /// Checkable statements that are true when the task is done.
    #[serde(default)]
    pub acceptance_criteria: Vec<String>,
    /// Repository-relative paths (files or directories) the change should
    /// stay within. Empty: not declared.
    #[serde(default)]
    pub scope: Vec<String>,
    #[serde(default)]
    pub priority: Priority,
    pub source: Source,
    #[serde(default)]
    pub labels: Vec<String>,
    /// Failing tests the task is about (from test output).
    #[serde(default)]
    pub failures: Vec<TestFailure>,
}

impl Task {
    pub fn new(format: &str, reference: &str, title: impl Into<String>) -> Task {
        Task {
            schema: TASK_SCHEMA.into(),
            title: title.into(),
            source: Source {
                format: format.into(),
                reference: reference.into(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// Every problem with this task, each naming the field.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.schema != TASK_SCHEMA {
            p.push(format!(
                "schema: expected \"{TASK_SCHEMA}\", found {:?}",
                self.schema
            ));
        }
        if self.title.trim().is_empty() {
            p.push("title: empty".into());
        } else if self.title.contains('\n') {
            p.push("title: must be one line".into());
        } else if self.title.chars().count() > 200 {
            p.push("title: longer than 200 characters".into());
        }
        if self.source.format.trim().is_empty() {
            p.push("source.format: empty".into());
        }
        for (i, s) in self.scope.iter().enumerate() {
            if let Err(e) = check_scope_path(s) {
                p.push(format!("scope[{i}]: {e}"));
            }
        }
        for (i, c) in self.acceptance_criteria.iter().enumerate() {
            if c.trim().is_empty() {
                p.push(format!("acceptance_criteria[{i}]: empty"));
            }
        }
        p
    }
}

/// A scope path must be repository-relative, normalized and not escape.
pub fn check_scope_path(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("empty path".into());
    }
    if s.starts_with('/') || s.contains('\\') || s.contains('\0') {
        return Err(format!("{s:?} is not a relative path"));
    }
    if s.split('/').any(|c| c == ".." || c == ".") {
        return Err(format!("{s:?} contains `.` or `..`"));
    }
    Ok(())
}

/// Whether `path` (repository-relative) is inside `scope` (a file or a
/// directory, with an optional trailing `/`; `*` and `**` globs allowed).
pub fn in_scope(path: &str, scope: &str) -> bool {
    if scope.contains('*') {
        return crate::glob::matches(scope, path);
    }
    let scope = scope.trim_end_matches('/');
    scope.is_empty() || path == scope || path.starts_with(&format!("{scope}/"))
}

/// Whether two scopes could touch the same file.
pub fn scopes_overlap(a: &[String], b: &[String]) -> bool {
    if a.is_empty() || b.is_empty() {
        return true; // undeclared: anything
    }
    a.iter().any(|x| {
        b.iter().any(|y| {
            let (x0, y0) = (glob_prefix(x), glob_prefix(y));
            in_scope(x0, y0) || in_scope(y0, x0)
        })
    })
}

/// The literal directory prefix of a glob (the whole path if no glob).
fn glob_prefix(p: &str) -> &str {
    match p.find('*') {
        Some(i) => p[..i].rsplit_once('/').map_or("", |(d, _)| d),
        None => p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert!(in_scope("src/a.rs", "src"));
        assert!(in_scope("src/a.rs", "src/"));
        assert!(!in_scope("srcx/a.rs", "src"));
        assert!(in_scope("docs/x/y.md", "docs/**"));
        assert!(in_scope("README.md", "*.md"));
        assert!(!in_scope("src/README.md", "*.md"));
        assert!(scopes_overlap(&["src".into()], &["src/a.rs".into()]));
        assert!(!scopes_overlap(&["src/a.rs".into()], &["src/b.rs".into()]));
        assert!(scopes_overlap(&["docs/**".into()], &["docs/a.md".into()]));
        assert!(scopes_overlap(&[], &["x".into()]));
        assert!(check_scope_path("../x").is_err());
        assert!(check_scope_path("/etc").is_err());
    }

    #[test]
    fn problems_name_fields() {
        let mut t = Task::new("markdown", "-", "");
        t.scope.push("../etc".into());
        let p = t.problems();
        assert!(p.iter().any(|s| s.starts_with("title")));
        assert!(p.iter().any(|s| s.starts_with("scope[0]")));
        assert_eq!(Priority::from_words("P1"), Some(Priority::High));
        assert_eq!(Priority::from_words("priority: low"), Some(Priority::Low));
    }
}
