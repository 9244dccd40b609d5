//! Python `unittest` output (`python -m unittest [-v]`): `FAIL:`/`ERROR:`
//! blocks between `=====` rules with the traceback, `Ran N tests`, and the
//! closing `OK` / `FAILED (failures=1, errors=2, skipped=1)` line.

use super::{TestFailure, TestReport, cap};

pub fn looks_like(text: &str) -> bool {
    text.lines()
        .any(|l| l.starts_with("Ran ") && l.contains(" test"))
}

fn kv(s: &str, key: &str) -> u32 {
    s.split(['(', ')', ','])
        .filter_map(|p| p.trim().strip_prefix(&format!("{key}=")))
        .find_map(|n| n.parse().ok())
        .unwrap_or(0)
}

pub fn parse(text: &str) -> TestReport {
    let mut r = TestReport::default();
    let lines: Vec<&str> = text.lines().collect();
    let mut errors_and_failures = 0;
    for l in &lines {
        if let Some(rest) = l.strip_prefix("Ran ") {
            r.total = rest
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        } else if l.starts_with("FAILED (") || l.starts_with("OK") {
            errors_and_failures = kv(l, "failures") + kv(l, "errors");
            r.skipped = kv(l, "skipped");
        }
    }
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        let head = l
            .strip_prefix("FAIL: ")
            .or_else(|| l.strip_prefix("ERROR: "));
        if let (Some(name), true) = (head, i > 0 && lines[i - 1].starts_with("=====")) {
            let mut body = Vec::new();
            i += 1;
            if i < lines.len() && lines[i].starts_with("-----") {
                i += 1;
            }
            while i < lines.len()
                && !lines[i].starts_with("=====")
                && !lines[i].starts_with("-----")
            {
                body.push(lines[i]);
                i += 1;
            }
            r.failures.push(block(name, &body));
            continue;
        }
        i += 1;
    }
    r.failed = errors_and_failures.max(r.failures.len() as u32);
    r.passed = r.total.saturating_sub(r.failed + r.skipped);
    r
}

/// A name like `test_div (test_calc.TestCalc.test_div)` and its traceback.
fn block(name: &str, body: &[&str]) -> TestFailure {
    let name = match name.split_once(" (") {
        Some((short, full)) => {
            let full = full.trim_end_matches(')');
            if full.ends_with(short) {
                full.to_string()
            } else {
                format!("{full}.{short}")
            }
        }
        None => name.to_string(),
    };
    let mut f = TestFailure {
        name,
        output: cap(body.join("\n").trim()),
        ..Default::default()
    };
    // The first `File "...", line N` frame (the test) and the last
    // non-blank line (the exception).
    for l in body {
        let t = l.trim();
        if f.file.is_some() {
            break;
        }
        if let Some(rest) = t.strip_prefix("File \"")
            && let Some((file, after)) = rest.split_once("\", line ")
        {
            let line = after
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse().ok());
            f.file = Some(file.to_string());
            f.line = line;
        }
    }
    f.message = body
        .iter()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map_or(String::new(), |l| l.trim().to_string());
    f
}
