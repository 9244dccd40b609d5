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
            i += 1;
            // The description (a docstring's first line, `Doctest: NAME`)
            // comes before the `-----` rule that opens the traceback.
            if let Some(k) = lines[i..]
                .iter()
                .take(4)
                .position(|l| l.starts_with("-----"))
            {
                i += k + 1;
            }
            // The block runs to the next `=====` rule or to the `-----` rule
            // before `Ran N tests`; a doctest's own `-----` rules are inside.
            let mut body = Vec::new();
            while i < lines.len() && !lines[i].starts_with("=====") && !closes(&lines, i) {
                body.push(lines[i]);
                i += 1;
            }
            r.failures.push(block(name, &body));
            continue;
        }
        i += 1;
    }
    r.passed_names = passed_names(&lines);
    r.failed = errors_and_failures.max(r.failures.len() as u32);
    r.passed = r.total.saturating_sub(r.failed + r.skipped);
    r
}

/// The tests `-v` reports `... ok`: `test_x (m.C.test_x) ... ok`, or the
/// name on one line and a docstring's first line `... ok` on the next.
fn passed_names(lines: &[&str]) -> Vec<String> {
    let mut names = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(head) = l.strip_suffix(" ... ok") else {
            continue;
        };
        let named = |s: &str| s.starts_with("test") && s.contains(" (") && s.ends_with(')');
        if named(head) {
            names.push(full_name(head));
        } else if i > 0 && named(lines[i - 1]) {
            names.push(full_name(lines[i - 1]));
        }
    }
    names
}

/// Whether line `i` is the rule that ends the last failure: `-----`
/// followed by `Ran N tests`.
fn closes(lines: &[&str], i: usize) -> bool {
    lines[i].starts_with("-----")
        && lines[i + 1..]
            .iter()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.starts_with("Ran "))
}

/// A test's full name from `test_div (test_calc.TestCalc.test_div)`, with
/// a subtest's parameters kept: `test_x (m.C.test_x) (i=1)`.
fn full_name(name: &str) -> String {
    let Some((short, rest)) = name.split_once(" (") else {
        return name.to_string();
    };
    let (full, params) = match rest.split_once(") (") {
        Some((full, params)) => (full, Some(params.trim_end_matches(')'))),
        None => (rest.trim_end_matches(')'), None),
    };
    let full = if full.ends_with(short) {
        full.to_string()
    } else {
        format!("{full}.{short}")
    };
    match params {
        Some(p) => format!("{full} ({p})"),
        None => full,
    }
}

/// The exception a traceback ends with: the first unindented line after
/// the last `Traceback` header's frames, up to the next blank line (an
/// assertion's own message may span lines; a list comparison's `?` markers
/// come after a blank line and are not the message).
fn exception(body: &[&str]) -> String {
    let start = body
        .iter()
        .rposition(|l| l.starts_with("Traceback (most recent call last)"))
        .map_or(0, |t| t + 1);
    let Some(first) = body[start..]
        .iter()
        .position(|l| !l.is_empty() && !l.starts_with(' ') && !l.starts_with('\t'))
    else {
        return body
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map_or(String::new(), |l| l.trim().to_string());
    };
    body[start + first..]
        .iter()
        .take_while(|l| !l.trim().is_empty())
        .take(8)
        .map(|l| l.trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A doctest's report: from `Failed example:` (or `Exception raised:`) to
/// the end of its `Got:` or exception section, at most 30 lines.
fn doctest_report(body: &[&str]) -> Option<String> {
    let from = body.iter().position(|l| l.starts_with("Failed example:"))?;
    let lines: Vec<&str> = body[from..]
        .iter()
        .take_while(|l| !l.starts_with("-----"))
        .take(30)
        .map(|l| l.trim_end())
        .collect();
    Some(lines.join("\n").trim_end().to_string())
}

/// A failure block: its name and its traceback.
fn block(name: &str, body: &[&str]) -> TestFailure {
    let name = full_name(name);
    let mut f = TestFailure {
        name,
        output: cap(body.join("\n").trim()),
        ..Default::default()
    };
    // The first `File "...", line N` frame (the test), and the exception;
    // for a doctest, the example with what was expected and what came.
    // A doctest's own location (`File "...", line N, in NAME` after its
    // rule) is the place to fix, so it wins over the runner's frame.
    if let Some(l) = body.iter().find(|l| l.starts_with("File \"")) {
        set_location(&mut f, l);
    }
    for l in body {
        let t = l.trim();
        if f.file.is_some() {
            break;
        }
        set_location(&mut f, t);
    }
    f.message = exception(body);
    if let Some(report) = doctest_report(body) {
        f.message = format!("{}\n{report}", f.message.lines().next().unwrap_or(""));
    }
    f
}

/// `File "PATH", line N, ...` sets the failure's file and line.
fn set_location(f: &mut TestFailure, line: &str) {
    if let Some(rest) = line.trim().strip_prefix("File \"")
        && let Some((file, after)) = rest.split_once("\", line ")
    {
        f.file = Some(file.to_string());
        f.line = after
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok());
    }
}
