//! Reading a task out of markdown prose (a brief, an issue body, a chat
//! message): the first heading as title, sections named like "Acceptance
//! criteria" and "Scope", task-list items, and backticked paths.

use crate::task::{Priority, check_scope_path};

#[derive(Debug, Default, PartialEq)]
pub struct Brief {
    pub title: Option<String>,
    /// The prose outside the recognised sections.
    pub intent: String,
    pub acceptance_criteria: Vec<String>,
    pub scope: Vec<String>,
    pub priority: Option<Priority>,
}

#[derive(PartialEq)]
enum Section {
    Body,
    Acceptance,
    Scope,
    Priority,
}

fn section_of(heading: &str) -> Section {
    let h = heading.trim().trim_end_matches(':').to_ascii_lowercase();
    if h.contains("acceptance")
        || h == "done when"
        || h == "definition of done"
        || h == "expected behavior"
        || h == "expected behaviour"
        || h == "criteria"
    {
        Section::Acceptance
    } else if h == "scope" || h == "files" || h == "affected files" || h == "where" {
        Section::Scope
    } else if h == "priority" {
        Section::Priority
    } else {
        Section::Body
    }
}

/// A list item's text (`- x`, `* x`, `1. x`, `- [ ] x`, `• x`), if it is one.
pub fn list_item(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let rest = t
        .strip_prefix("- ")
        .or_else(|| t.strip_prefix("* "))
        .or_else(|| t.strip_prefix("• "))
        .or_else(|| {
            let digits = t.bytes().take_while(u8::is_ascii_digit).count();
            (digits > 0).then(|| {
                t[digits..]
                    .strip_prefix(". ")
                    .or_else(|| t[digits..].strip_prefix(") "))
            })?
        })?;
    let rest = rest
        .strip_prefix("[ ] ")
        .or_else(|| rest.strip_prefix("[x] "))
        .or_else(|| rest.strip_prefix("[X] "))
        .unwrap_or(rest);
    Some(rest.trim())
}

/// Paths written in backticks that look like repository paths.
pub fn backticked_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 0 || part.contains(' ') || part.is_empty() {
            continue;
        }
        let p = part.trim_start_matches("./");
        let looks_like_path = p.contains('/')
            || p.rsplit_once('.').is_some_and(|(stem, ext)| {
                !stem.is_empty()
                    && (1..=5).contains(&ext.len())
                    && ext.chars().all(|c| c.is_ascii_alphanumeric())
            });
        let code_like =
            p.contains('(') || p.contains('=') || p.contains("::") || p.starts_with('-');
        if looks_like_path
            && !code_like
            && check_scope_path(p).is_ok()
            && !out.iter().any(|o| o == p)
        {
            out.push(p.to_string());
        }
    }
    out
}

pub fn parse(markdown: &str) -> Brief {
    let mut b = Brief::default();
    let mut section = Section::Body;
    let mut body: Vec<&str> = Vec::new();
    let mut in_fence = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        let heading = if in_fence {
            None
        } else {
            line.trim_start()
                .strip_prefix('#')
                .map(|h| h.trim_start_matches('#').trim())
        };
        if let Some(h) = heading {
            if b.title.is_none()
                && section == Section::Body
                && body.iter().all(|l| l.trim().is_empty())
            {
                b.title = Some(h.to_string());
                continue;
            }
            section = section_of(h);
            if section == Section::Body {
                body.push(line);
            }
            continue;
        }
        // `**Acceptance criteria:**` or `Acceptance criteria:` on its own line.
        let bare = line.trim().trim_matches('*').trim();
        if !in_fence && bare.ends_with(':') && bare.len() < 40 && section_of(bare) != Section::Body
        {
            section = section_of(bare);
            continue;
        }
        match section {
            Section::Body => body.push(line),
            Section::Acceptance => {
                if let Some(item) = list_item(line) {
                    b.acceptance_criteria.push(item.to_string());
                } else if line.trim().is_empty() {
                } else if b.acceptance_criteria.is_empty() {
                    b.acceptance_criteria.push(line.trim().to_string());
                } else {
                    // Prose after the list: the section is over.
                    section = Section::Body;
                    body.push(line);
                }
            }
            Section::Scope => {
                let item = list_item(line).unwrap_or(line.trim());
                let item = item.trim_matches('`').trim().trim_start_matches("./");
                if !item.is_empty() && check_scope_path(item).is_ok() {
                    b.scope.push(item.to_string());
                }
            }
            Section::Priority => {
                if b.priority.is_none() {
                    b.priority = Priority::from_words(line.trim());
                }
            }
        }
    }
    b.intent = body.join("\n").trim().to_string();
    if b.scope.is_empty() {
        b.scope = backticked_paths(markdown);
    }
    b
}

/// A one-line title from prose: its first sentence, at most 100 characters.
pub fn title_from(text: &str) -> String {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let first = first.trim_start_matches('#').trim();
    let sentence = match first.find(". ").or_else(|| first.find("! ")) {
        Some(i) => &first[..i],
        None => match first.find("? ") {
            Some(i) => &first[..=i],
            None => first.trim_end_matches('.'),
        },
    };
    if sentence.chars().count() <= 100 {
        sentence.to_string()
    } else {
        let cut: String = sentence.chars().take(97).collect();
        format!("{}...", cut.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_and_items() {
        let b = parse(
            "# Fix mean\n\nThe mean of an empty list crashes.\n\n## Acceptance criteria\n- [ ] `mean([])` returns 0\n- existing tests pass\n\n## Scope\n- `calc.py`\n- tests/\n\n## Priority\nhigh\n",
        );
        assert_eq!(b.title.as_deref(), Some("Fix mean"));
        assert_eq!(b.intent, "The mean of an empty list crashes.");
        assert_eq!(
            b.acceptance_criteria,
            ["`mean([])` returns 0", "existing tests pass"]
        );
        assert_eq!(b.scope, ["calc.py", "tests/"]);
        assert_eq!(b.priority, Some(Priority::High));
    }

    #[test]
    fn paths_in_prose() {
        assert_eq!(
            backticked_paths("edit `src/calc.py` and `README.md`, not `mean([])` or `x = 1`"),
            ["src/calc.py", "README.md"]
        );
        assert_eq!(
            title_from("Please fix the crash. It is bad."),
            "Please fix the crash"
        );
    }
}
