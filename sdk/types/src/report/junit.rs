//! JUnit XML (`<testsuites>` / `<testsuite>` / `<testcase>` with
//! `<failure>`, `<error>` and `<skipped>` children), as written by pytest
//! `--junitxml`, cargo-nextest, Maven Surefire, Jest reporters and others.

use super::{TestFailure, TestReport, cap};

pub fn looks_like(text: &str) -> bool {
    text.contains("<testsuite")
}

pub fn parse(text: &str) -> Result<TestReport, String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("invalid JUnit XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "testsuites" && root.tag_name().name() != "testsuite" {
        return Err(format!(
            "invalid JUnit XML: the root element is <{}>, expected <testsuites> or <testsuite>",
            root.tag_name().name()
        ));
    }
    let mut r = TestReport::default();
    for case in root.descendants().filter(|n| n.has_tag_name("testcase")) {
        r.total += 1;
        let problem = case
            .children()
            .find(|c| c.has_tag_name("failure") || c.has_tag_name("error"));
        if case.children().any(|c| c.has_tag_name("skipped")) {
            r.skipped += 1;
            continue;
        }
        let Some(p) = problem else {
            r.passed += 1;
            continue;
        };
        let name = case.attribute("name").unwrap_or("(unnamed)");
        let full = match case.attribute("classname") {
            Some(c) if !c.is_empty() => format!("{c}.{name}"),
            _ => name.to_string(),
        };
        let body = p.text().unwrap_or("").trim();
        let message = p
            .attribute("message")
            .map(str::to_string)
            .or_else(|| body.lines().last().map(str::to_string))
            .unwrap_or_else(|| p.tag_name().name().to_string());
        let (mut file, mut line) = (
            case.attribute("file").map(str::to_string),
            case.attribute("line").and_then(|l| l.parse().ok()),
        );
        if file.is_none() {
            // pytest puts `path:line: Error` as the body's last line.
            if let Some((f, l)) = body
                .lines()
                .rev()
                .find_map(|l| super::file_line(l.split(": ").next().unwrap_or("")))
            {
                file = Some(f);
                line = Some(l);
            }
        }
        r.failures.push(TestFailure {
            name: full,
            file,
            line,
            message,
            output: cap(body),
        });
    }
    r.failed = r.failures.len() as u32;
    Ok(r)
}
