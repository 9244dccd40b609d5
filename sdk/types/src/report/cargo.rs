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
        } else if let Some(rest) = l.strip_prefix("test ")
            && let Some(name) = rest.strip_suffix(" ... ok")
        {
            r.passed_names.push(name.trim().to_string());
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

/// One `thread 'NAME' panicked at …` and its message lines.
struct Panic {
    thread: String,
    at: Option<(String, u32)>,
    message: Vec<String>,
}

fn failure_from_block(name: &str, body: &[&str]) -> TestFailure {
    let mut f = TestFailure {
        name: name.to_string(),
        output: cap(body.join("\n").trim()),
        ..Default::default()
    };
    let mut panics: Vec<Panic> = Vec::new();
    let mut in_panic = false;
    for l in body {
        // `thread 'name' panicked at …`, since Rust 1.90 with ` (tid)` too.
        if let Some((thread, at)) = l
            .strip_prefix("thread '")
            .and_then(|s| s.split_once(" panicked at "))
        {
            let thread = thread.split('\'').next().unwrap_or(thread).to_string();
            // New style: `panicked at src/lib.rs:10:9:` then the message lines.
            // Old style: `panicked at 'message', src/lib.rs:10:9`.
            if let Some(old) = at.strip_prefix('\'') {
                if let Some((msg, loc)) = old.rsplit_once("', ") {
                    panics.push(Panic {
                        thread,
                        at: file_line(loc),
                        message: vec![msg.to_string()],
                    });
                }
                in_panic = false;
            } else {
                panics.push(Panic {
                    thread,
                    at: file_line(at),
                    message: Vec::new(),
                });
                in_panic = true;
            }
            continue;
        }
        if in_panic {
            if l.starts_with("note: ") || l.starts_with("stack backtrace:") || l.is_empty() {
                in_panic = false;
            } else if let Some(p) = panics.last_mut() {
                p.message.push(l.to_string());
            }
        }
    }
    // The first panic is the cause: a test whose worker thread panicked
    // fails later, on the join, with a message that says only that.
    if let Some(first) = panics.first() {
        if let Some((file, line)) = &first.at {
            f.file = Some(file.clone());
            f.line = Some(*line);
        }
        let mut message = first.message.join("\n").trim().to_string();
        for p in &panics[1..] {
            let at =
                p.at.as_ref()
                    .map_or(String::new(), |(file, line)| format!(" at {file}:{line}"));
            message.push_str(&format!(
                "\n(then thread '{}' panicked{at}: {})",
                p.thread,
                p.message.first().map_or("", |m| m.trim())
            ));
        }
        f.message = message;
    }
    // A doctest's panic location is a line of the generated example; the
    // name says where the example is: `src/lib.rs - item (line 234)`.
    if let Some((file, rest)) = name.split_once(" - ")
        && let Some(line) = rest
            .rsplit_once("(line ")
            .and_then(|(_, n)| n.trim_end_matches(')').parse().ok())
    {
        f.file = Some(file.to_string());
        f.line = Some(line);
    }
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
