//! Intake of a markdown brief (docs/task-schema.md#markdown-briefs): an
//! optional front-matter block between `---` lines (`title`, `priority`,
//! `scope`, `labels`, `acceptance`), a `# Title`, prose, and optional
//! `## Acceptance criteria`, `## Scope` and `## Priority` sections.

use factory_sdk::intake::{Intake, IntakeError, invalid};
use factory_sdk::types::{Priority, Task, brief, task::check_scope_path};

struct Markdown;

#[derive(Default)]
struct Front {
    title: Option<String>,
    priority: Option<Priority>,
    scope: Vec<String>,
    labels: Vec<String>,
    acceptance: Vec<String>,
}

const KEYS: &str = "title, priority, scope, labels, acceptance";

/// `[a, b]`, `a, b` or a single value.
fn list(v: &str) -> Vec<String> {
    let v = v.trim().trim_start_matches('[').trim_end_matches(']');
    v.split(',')
        .map(|s| s.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Split off and read the front matter; line numbers in errors are 1-based
/// lines of the file.
fn front_matter(input: &str) -> Result<(Front, &str), String> {
    let Some(rest) = input
        .strip_prefix("---\n")
        .or_else(|| input.strip_prefix("---\r\n"))
    else {
        return Ok((Front::default(), input));
    };
    let end = rest
        .find("\n---")
        .ok_or("the front matter starts with `---` on line 1 but has no closing `---` line")?;
    let block = &rest[..end];
    let after = rest[end + 4..].trim_start_matches(['\r', '\n']);
    let mut f = Front::default();
    let mut current: Option<String> = None;
    for (i, line) in block.lines().enumerate() {
        let n = i + 2;
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if let Some(item) = line.trim_start().strip_prefix("- ") {
            let key = current
                .as_deref()
                .ok_or(format!("line {n}: a list item with no key above it"))?;
            let item = item
                .trim()
                .trim_matches(|c| c == '"' || c == '\'')
                .to_string();
            match key {
                "scope" => f.scope.push(item),
                "labels" => f.labels.push(item),
                "acceptance" => f.acceptance.push(item),
                k => return Err(format!("line {n}: `{k}` takes one value, not a list")),
            }
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .ok_or(format!("line {n}: expected `key: value`, found {line:?}"))?;
        let key = key.trim().to_ascii_lowercase();
        let value = value.trim();
        current = Some(key.clone());
        match key.as_str() {
            "title" => f.title = Some(value.trim_matches(|c| c == '"' || c == '\'').to_string()),
            "priority" => f.priority = Some(Priority::from_words(value).ok_or(format!(
                "line {n}: priority {value:?} is not one of low, normal, high, urgent (or P0-P3)"
            ))?),
            "scope" => f.scope.extend(list(value)),
            "labels" => f.labels.extend(list(value)),
            "acceptance" | "acceptance_criteria" => {
                current = Some("acceptance".into());
                f.acceptance.extend(list(value))
            }
            other => {
                return Err(format!(
                    "line {n}: unknown front-matter key `{other}`; known keys: {KEYS}"
                ));
            }
        }
    }
    for s in &f.scope {
        check_scope_path(s).map_err(|e| format!("front matter scope: {e}"))?;
    }
    Ok((f, after))
}

impl Intake for Markdown {
    const NAME: &'static str = "intake-markdown";
    const FORMAT: &'static str = "markdown";
    const DESCRIPTION: &'static str = include_str!("../description.txt");

    fn detect(input: &str) -> u8 {
        let t = input.trim_start();
        if t.starts_with('{') || t.starts_with('<') {
            return 0;
        }
        if t.starts_with("---") || t.starts_with("# ") {
            80
        } else if t.lines().any(|l| l.starts_with("## ")) {
            60
        } else {
            20 // prose: a markdown brief is the fallback
        }
    }

    fn parse(input: &str, source: &str) -> Result<Task, IntakeError> {
        let (front, body) = front_matter(input).map_err(invalid)?;
        let b = brief::parse(body);
        let title = front
            .title
            .or(b.title.clone())
            .unwrap_or_else(|| brief::title_from(body));
        if title.trim().is_empty() {
            return Err(invalid(
                "the brief has no title: start it with a `# Title` line (or `title:` in the front matter)",
            ));
        }
        let mut task = Task::new(Self::FORMAT, source, title);
        task.intent = if b.intent.is_empty() {
            task.title.clone()
        } else {
            b.intent
        };
        task.acceptance_criteria = if front.acceptance.is_empty() {
            b.acceptance_criteria
        } else {
            front.acceptance
        };
        task.scope = if front.scope.is_empty() {
            b.scope
        } else {
            front.scope
        };
        task.priority = front.priority.or(b.priority).unwrap_or_default();
        task.labels = front.labels;
        Ok(task)
    }
}

factory_sdk::export_intake!(Markdown);
