//! pytest output: the `FAILURES`/`ERRORS` sections (one `___ name ___`
//! block per test, ending with `path:line: ErrorType`), the short summary
//! (`FAILED path::name - message`) and the final counts line.

use super::{TestFailure, TestReport, cap, count_before, file_line};

pub fn looks_like(text: &str) -> bool {
    text.contains("test session starts")
        || text.lines().any(|l| {
            let l = l.trim_matches(|c| c == '=' || c == ' ');
            (l.contains(" passed") || l.contains(" failed") || l.contains(" error"))
                && l.contains(" in ")
                && l.ends_with('s')
                && l.split_whitespace()
                    .next()
                    .is_some_and(|w| w.parse::<u32>().is_ok())
        })
}

fn is_rule(l: &str, ch: char) -> Option<&str> {
    let t = l.trim();
    if t.len() > 6 && t.starts_with(ch) && t.ends_with(ch) {
        let inner = t.trim_matches(ch).trim();
        // `_ _ _ _` separates frames inside one pytest block.
        (!inner.is_empty() && !inner.chars().all(|c| c == ch || c == ' ')).then_some(inner)
    } else {
        None
    }
}

pub fn parse(text: &str) -> TestReport {
    let mut r = TestReport::default();
    let lines: Vec<&str> = text.lines().collect();
    // Final counts: `==== 1 failed, 2 passed, 1 skipped in 0.02s ====`.
    for l in lines.iter().rev() {
        if let Some(inner) = is_rule(l, '=').or_else(|| Some(l.trim()))
            && inner.contains(" in ")
            && (inner.contains("passed") || inner.contains("failed") || inner.contains("error"))
        {
            r.passed = count_before(inner, "passed");
            r.failed = count_before(inner, "failed")
                + count_before(inner, "error")
                + count_before(inner, "errors");
            r.skipped = count_before(inner, "skipped");
            break;
        }
    }
    // `-v` lines (`path::name PASSED [ 50%]`) and `-rA`'s short summary
    // (`PASSED path::name`); a name once.
    for l in &lines {
        let l = l.trim();
        let name = l
            .strip_prefix("PASSED ")
            .or_else(|| l.split_once(" PASSED").map(|(n, _)| n))
            .filter(|n| n.contains("::") && !n.contains(' '));
        if let Some(n) = name
            && !r.passed_names.iter().any(|x| x == n)
        {
            r.passed_names.push(n.to_string());
        }
    }
    // Blocks in FAILURES / ERRORS.
    let mut section = false;
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if let Some(title) = is_rule(l, '=') {
            section = title == "FAILURES" || title == "ERRORS";
            i += 1;
            continue;
        }
        if section && let Some(name) = is_rule(l, '_') {
            let mut body = Vec::new();
            i += 1;
            while i < lines.len()
                && is_rule(lines[i], '_').is_none()
                && is_rule(lines[i], '=').is_none()
            {
                body.push(lines[i]);
                i += 1;
            }
            r.failures.push(block(name, &body));
            continue;
        }
        i += 1;
    }
    // The short summary gives full node ids and one-line messages.
    for l in &lines {
        let Some(rest) = l
            .strip_prefix("FAILED ")
            .or_else(|| l.strip_prefix("ERROR "))
        else {
            continue;
        };
        let (id, msg) = rest.split_once(" - ").unwrap_or((rest, ""));
        let short = id.rsplit("::").next().unwrap_or(id);
        match r
            .failures
            .iter_mut()
            .find(|f| f.name == short || f.name == id || f.name.ends_with(&format!(".{short}")))
        {
            Some(f) => {
                f.name = id.trim().to_string();
                if f.message.is_empty() && !msg.is_empty() {
                    f.message = msg.to_string();
                }
            }
            None => r.failures.push(TestFailure {
                name: id.trim().to_string(),
                file: id.split("::").next().map(str::to_string),
                message: msg.to_string(),
                ..Default::default()
            }),
        }
    }
    r
}

fn block(name: &str, body: &[&str]) -> TestFailure {
    // `--doctest-modules` names a block `[doctest] module.item`; the short
    // summary names it `path::module.item`.
    let name = name.strip_prefix("[doctest] ").unwrap_or(name);
    let mut f = TestFailure {
        name: name.to_string(),
        output: cap(body.join("\n").trim()),
        ..Default::default()
    };
    let errors: Vec<&str> = body
        .iter()
        .filter_map(|l| l.strip_prefix("E   "))
        .map(str::trim)
        .collect();
    f.message = errors.join("\n");
    // The first location line is the test's: `test_calc.py:9: AssertionError`.
    for l in body {
        if let Some((loc, kind)) = l
            .trim_end()
            .split_once(": ")
            .or_else(|| l.trim_end().strip_suffix(':').map(|x| (x, "")))
            && let Some((file, line)) = file_line(loc)
        {
            f.file = Some(file);
            f.line = Some(line);
            if f.message.is_empty() {
                f.message = kind.to_string();
            }
            break;
        }
    }
    if let Some(report) = doctest_report(body) {
        f.message = format!("{}\n{report}", f.message);
    }
    f
}

/// A doctest failure as pytest prints it: numbered source lines, the last
/// one the failing example, then `Expected:` and `Got:` (or the exception).
fn doctest_report(body: &[&str]) -> Option<String> {
    let at = body
        .iter()
        .position(|l| *l == "Expected:" || l.starts_with("UNEXPECTED EXCEPTION"))?;
    let example = body[..at]
        .iter()
        .rev()
        .find_map(|l| l.split_once(' ').filter(|(n, _)| n.parse::<u32>().is_ok()))
        .map(|(_, src)| src.trim().trim_start_matches(">>> ").to_string())
        .unwrap_or_default();
    let rest: Vec<&str> = body[at..]
        .iter()
        .take_while(|l| !l.trim().is_empty())
        .take(20)
        .map(|l| l.trim_end())
        .collect();
    Some(format!(
        "Failed example:\n    {example}\n{}",
        rest.join("\n")
    ))
}
