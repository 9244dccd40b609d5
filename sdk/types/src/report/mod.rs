//! Test results: one model for every framework, and parsers for the output
//! of `cargo test`, pytest, Python's unittest and JUnit XML.

mod cargo;
mod junit;
mod pytest;
mod unittest;

use serde::{Deserialize, Serialize};

/// One failing test (or a build failure, named `(build)`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestFailure {
    /// The test's full name, as the framework prints it.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The assertion or error message, one or a few lines.
    pub message: String,
    /// The failure's full output (traceback, captured stdout), capped.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestReport {
    /// cargo-test, pytest, unittest, junit, or unknown.
    pub framework: String,
    pub total: u32,
    pub passed: u32,
    pub failed: u32,
    pub skipped: u32,
    pub failures: Vec<TestFailure>,
    /// The names of the tests that passed, where the output lists them
    /// (verbose unittest, `pytest -v`, `cargo test`, JUnit XML), in the
    /// same form as a failure's name. Empty when it does not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passed_names: Vec<String>,
}

impl TestReport {
    /// A stable fingerprint of what failed (names and first message lines),
    /// to see that a retry failed the same way.
    pub fn signature(&self) -> String {
        let mut parts: Vec<String> = self
            .failures
            .iter()
            .map(|f| format!("{}: {}", f.name, f.message.lines().next().unwrap_or("")))
            .collect();
        parts.sort();
        parts.join("\n")
    }
}

/// The most output kept per failure.
pub const MAX_FAILURE_OUTPUT: usize = 4000;

pub(crate) fn cap(s: &str) -> String {
    if s.len() <= MAX_FAILURE_OUTPUT {
        return s.to_string();
    }
    let end = s.floor_char_boundary(MAX_FAILURE_OUTPUT);
    format!("{}\n[… {} more bytes]", &s[..end], s.len() - end)
}

/// The formats [`parse`] knows.
pub const FORMATS: [&str; 4] = ["cargo-test", "pytest", "unittest", "junit"];

/// Which test framework produced `text`, if any.
pub fn detect(text: &str) -> Option<&'static str> {
    let t = text.trim_start();
    if t.starts_with("<?xml") || t.starts_with("<testsuite") {
        return junit::looks_like(t).then_some("junit");
    }
    if cargo::looks_like(text) {
        return Some("cargo-test");
    }
    if pytest::looks_like(text) {
        return Some("pytest");
    }
    if unittest::looks_like(text) {
        return Some("unittest");
    }
    None
}

/// Parse `text` as `format` (one of [`FORMATS`]), or detect it if None.
pub fn parse(text: &str, format: Option<&str>) -> Result<TestReport, String> {
    let format = match format {
        Some(f) => f,
        None => detect(text).ok_or_else(|| {
            "not recognisable test output: expected the output of `cargo test`, pytest or \
             `python -m unittest`, or a JUnit XML report"
                .to_string()
        })?,
    };
    let mut r = match format {
        "cargo-test" => cargo::parse(text),
        "pytest" => pytest::parse(text),
        "unittest" => unittest::parse(text),
        "junit" => junit::parse(text)?,
        other => {
            return Err(format!(
                "unknown test output format `{other}`; known: {FORMATS:?}"
            ));
        }
    };
    r.framework = format.to_string();
    r.failed = r.failed.max(r.failures.len() as u32);
    r.total = r.total.max(r.passed + r.failed + r.skipped);
    Ok(r)
}

/// `file:line` from text like `src/lib.rs:10:9` or `test_x.py:12`.
pub(crate) fn file_line(s: &str) -> Option<(String, u32)> {
    let s = s.trim().trim_end_matches(':');
    let mut parts = s.split(':');
    let file = parts.next()?.trim();
    let line: u32 = parts.next()?.trim().parse().ok()?;
    let looks_like_file = file.contains('.') && !file.contains(' ') && !file.is_empty();
    looks_like_file.then(|| (file.to_string(), line))
}

/// The first number before `word` in `s` ("3 passed" → 3).
pub(crate) fn count_before(s: &str, word: &str) -> u32 {
    let words: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(2)
        .find(|w| w[1].trim_end_matches(['.', ',']) == word)
        .and_then(|w| w[0].parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod real_suites;
#[cfg(test)]
mod tests;
