//! The reviewer's deterministic checks: they need no model and cannot be
//! talked out of their result.

use factory_sdk::types::glob;
use factory_sdk::types::roles::{CheckResult, Comment, ReviewerInput};
use regex::Regex;

/// Secret shapes: cloud keys, tokens, private keys, credentials in URLs.
const SECRETS: &[(&str, &str)] = &[
    ("AWS access key", r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("private key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    (
        "GitHub token",
        r"\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{40,}",
    ),
    ("Slack token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    ("OpenAI/Anthropic key", r"\bsk-(ant-)?[A-Za-z0-9_-]{20,}"),
    ("Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    ("password in a URL", r"[a-z]+://[^/\s:@]+:[^/\s:@]{3,}@"),
    (
        "hard-coded password",
        r#"(?i)\b(password|passwd|secret|api_?key|token)\s*[:=]\s*["'][^"'\s]{8,}["']"#,
    ),
];

/// Files that declare dependencies, and how an added dependency line looks.
const MANIFESTS: &[&str] = &[
    "Cargo.toml",
    "package.json",
    "requirements.txt",
    "pyproject.toml",
    "go.mod",
    "Gemfile",
    "pom.xml",
    "build.gradle",
];

struct FileDiff {
    path: String,
    added: Vec<(u32, String)>,
    removed: usize,
}

/// The added lines (with their new line numbers) of each file in a diff.
fn files(diff: &str) -> Vec<FileDiff> {
    let mut out: Vec<FileDiff> = Vec::new();
    let mut line = 0u32;
    for l in diff.lines() {
        if let Some(p) = l.strip_prefix("+++ ") {
            let p = p.split('\t').next().unwrap_or(p).trim();
            out.push(FileDiff {
                path: p.strip_prefix("b/").unwrap_or(p).to_string(),
                added: vec![],
                removed: 0,
            });
        } else if l.starts_with("--- ") {
        } else if let Some(h) = l.strip_prefix("@@ ") {
            // @@ -a,b +c,d @@
            line = h
                .split_whitespace()
                .nth(1)
                .and_then(|n| n.trim_start_matches('+').split(',').next()?.parse().ok())
                .unwrap_or(1);
        } else if let Some(f) = out.last_mut() {
            if let Some(a) = l.strip_prefix('+') {
                f.added.push((line, a.to_string()));
                line += 1;
            } else if l.starts_with('-') {
                f.removed += 1;
            } else {
                line += 1;
            }
        }
    }
    out
}

pub fn run(input: &ReviewerInput) -> (Vec<CheckResult>, Vec<Comment>) {
    let files = files(&input.diff);
    let mut checks = Vec::new();
    let mut comments = Vec::new();
    let mut comment = |path: &str, line: Option<u32>, check: &str, message: String| {
        comments.push(Comment {
            path: Some(path.to_string()),
            line,
            message,
            source: format!("check:{check}"),
        });
    };

    let size: usize = files.iter().map(|f| f.added.len() + f.removed).sum();
    let max = input.checks.max_diff_lines as usize;
    checks.push(CheckResult {
        name: "diff-size".into(),
        passed: max == 0 || size <= max,
        detail: format!("{size} changed lines (limit {max})"),
    });

    let mut forbidden = Vec::new();
    for path in input.changed.iter().chain(files.iter().map(|f| &f.path)) {
        if input.checks.forbidden_paths.iter().any(|g| {
            glob::matches(g, path) || path.starts_with(&format!("{}/", g.trim_end_matches('/')))
        }) && !forbidden.contains(path)
        {
            forbidden.push(path.clone());
            comment(
                path,
                None,
                "forbidden-paths",
                format!("{path} may not be changed by the factory"),
            );
        }
    }
    checks.push(CheckResult {
        name: "forbidden-paths".into(),
        passed: forbidden.is_empty(),
        detail: if forbidden.is_empty() {
            "none touched".into()
        } else {
            format!("touched: {}", forbidden.join(", "))
        },
    });

    let patterns: Vec<(&str, Regex)> = SECRETS
        .iter()
        .filter_map(|(n, p)| Some((*n, Regex::new(p).ok()?)))
        .collect();
    let mut secrets = 0;
    for f in &files {
        for (line, text) in &f.added {
            if let Some((name, _)) = patterns.iter().find(|(_, re)| re.is_match(text)) {
                secrets += 1;
                comment(
                    &f.path,
                    Some(*line),
                    "secrets",
                    format!("looks like a {name}; never commit secrets"),
                );
            }
        }
    }
    checks.push(CheckResult {
        name: "secrets".into(),
        passed: secrets == 0,
        detail: format!("{secrets} suspected secrets in added lines"),
    });

    let mut deps = Vec::new();
    for f in files.iter().filter(|f| {
        MANIFESTS
            .iter()
            .any(|m| f.path == *m || f.path.ends_with(&format!("/{m}")))
    }) {
        for (line, text) in &f.added {
            let t = text.trim();
            if t.is_empty()
                || t.starts_with('#')
                || t.starts_with('[')
                || t.starts_with("//")
                || t == "}"
                || t == "{"
            {
                continue;
            }
            deps.push(format!("{}: {t}", f.path));
            comment(
                &f.path,
                Some(*line),
                "new-dependencies",
                format!("adds a dependency: {t}"),
            );
        }
    }
    checks.push(CheckResult {
        name: "new-dependencies".into(),
        passed: deps.is_empty(),
        detail: if deps.is_empty() {
            "none added".into()
        } else {
            deps.join("; ")
        },
    });
    (checks, comments)
}
