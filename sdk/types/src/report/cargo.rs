//! `cargo test` output: per-test lines, `---- name stdout ----` blocks with
//! the panic message and location, `test result:` summaries (one per test
//! binary, summed), and compiler errors when the build fails.

use super::{TestFailure, TestReport, cap, count_before, file_line};

pub fn looks_like(text: &str) -> bool {
    text.lines().any(|l| {
        l.starts_with("test result: ")
            || (l.starts_with("running ") && l.trim_end().ends_with(" tests"))
            || l.starts_with("error: could not compile")
    })
}

pub fn parse(text: &str) -> TestReport {
    let mut r = TestReport::default();
    let lines: Vec<&str> = text.lines().collect();
    let mut failed_names: Vec<String> = Vec::new();
    for l in &lines {
        if let Some(rest) = l.strip_prefix("test result: ") {
            r.passed += count_before(rest, "passed");
            r.failed += count_before(rest, "failed");
            r.skipped += count_before(rest, "ignored");
        } else if let Some(rest) = l.strip_prefix("test ")
            && let Some(name) = rest.strip_suffix(" ... FAILED")
        {
            failed_names.push(name.trim().to_string());
        }
    }
    // The `---- NAME stdout ----` blocks.
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if let Some(name) = l
            .strip_prefix("---- ")
            .and_then(|s| s.strip_suffix(" stdout ----"))
        {
            let mut body = Vec::new();
            i += 1;
            while i < lines.len()
                && !lines[i].starts_with("---- ")
                && lines[i] != "failures:"
                && !lines[i].starts_with("test result: ")
            {
                body.push(lines[i]);
                i += 1;
            }
            r.failures.push(failure_from_block(name, &body));
            continue;
        }
        i += 1;
    }
    for name in failed_names {
        if !r.failures.iter().any(|f| f.name == name) {
            r.failures.push(TestFailure {
                name,
                message: "failed (no output captured)".into(),
                ..Default::default()
            });
        }
    }
    if let Some(f) = build_failure(&lines) {
        r.failures.push(f);
    }
    r
}

fn failure_from_block(name: &str, body: &[&str]) -> TestFailure {
    let mut f = TestFailure {
        name: name.to_string(),
        output: cap(body.join("\n").trim()),
        ..Default::default()
    };
    let mut message = Vec::new();
    let mut in_panic = false;
    for l in body {
        // `thread 'name' panicked at …`, since Rust 1.90 with ` (tid)` too.
        if let Some((_, at)) = l
            .strip_prefix("thread '")
            .and_then(|s| s.split_once(" panicked at "))
        {
            // New style: `panicked at src/lib.rs:10:9:` then the message lines.
            // Old style: `panicked at 'message', src/lib.rs:10:9`.
            if let Some(old) = at.strip_prefix('\'') {
                if let Some((msg, loc)) = old.rsplit_once("', ") {
                    message.push(msg.to_string());
                    if let Some((file, line)) = file_line(loc) {
                        f.file = Some(file);
                        f.line = Some(line);
                    }
                }
            } else if let Some((file, line)) = file_line(at) {
                f.file = Some(file);
                f.line = Some(line);
                in_panic = true;
            }
            continue;
        }
        if in_panic {
            if l.starts_with("note: ") || l.starts_with("stack backtrace:") {
                in_panic = false;
            } else {
                message.push(l.to_string());
            }
        }
    }
    f.message = message.join("\n").trim().to_string();
    if f.message.is_empty() {
        f.message = body
            .iter()
            .find(|l| !l.trim().is_empty())
            .map_or("failed".into(), |l| l.trim().to_string());
    }
    f
}

/// The first compiler error, when the tests did not build.
fn build_failure(lines: &[&str]) -> Option<TestFailure> {
    if !lines
        .iter()
        .any(|l| l.starts_with("error: could not compile"))
    {
        return None;
    }
    let start = lines.iter().position(|l| l.starts_with("error"))?;
    let mut f = TestFailure {
        name: "(build)".into(),
        message: lines[start].to_string(),
        ..Default::default()
    };
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.is_empty())
        .map_or(lines.len(), |p| start + 1 + p);
    for l in &lines[start..end] {
        if let Some(loc) = l.trim_start().strip_prefix("--> ") {
            if let Some((file, line)) = file_line(loc) {
                f.file = Some(file);
                f.line = Some(line);
            }
            break;
        }
    }
    f.output = cap(&lines[start..end].join("\n"));
    Some(f)
}
