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
        let name = case.attribute("name").unwrap_or("(unnamed)");
        let full = match case.attribute("classname") {
            Some(c) if !c.is_empty() => format!("{c}.{name}"),
            _ => name.to_string(),
        };
        let Some(p) = problem else {
            r.passed += 1;
            r.passed_names.push(full);
            continue;
        };
        let body = p.text().unwrap_or("").trim();
        // The exception up to its first blank line (pytest puts a list
        // comparison's whole diff in `message`); with its type in front
        // when the report gives it apart (surefire: `type="java.lang.…"`).
        let mut message = p
            .attribute("message")
            .filter(|m| !m.trim().is_empty())
            .map(|m| {
                m.lines()
                    .take_while(|l| !l.trim().is_empty())
                    .take(8)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .or_else(|| body.lines().last().map(str::to_string))
            .unwrap_or_else(|| p.tag_name().name().to_string());
        if let Some(kind) = p.attribute("type")
            && kind.contains('.')
            && !message.starts_with(kind)
        {
            message = format!("{kind}: {message}");
        }
        let (mut file, mut line) = (
            case.attribute("file").map(str::to_string),
            case.attribute("line").and_then(|l| l.parse().ok()),
        );
        if file.is_none()
            && let Some(class) = case.attribute("classname")
            && let Some((f, l)) = java_frame(body, class, name)
        {
            file = Some(f);
            line = Some(l);
        }
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

/// The test's own frame in a Java stack trace,
/// `at demo.StatsTest.mean(StatsTest.java:9)`, as the file under the
/// package's directory (`demo/StatsTest.java`) and the line.
fn java_frame(body: &str, class: &str, method: &str) -> Option<(String, u32)> {
    let want = format!("at {class}.{method}(");
    let frame = body.lines().map(str::trim).find(|l| l.starts_with(&want))?;
    let (file, line) = frame[want.len()..].trim_end_matches(')').split_once(':')?;
    let dir = class
        .rsplit_once('.')
        .map_or(String::new(), |(pkg, _)| pkg.replace('.', "/") + "/");
    Some((format!("{dir}{file}"), line.parse().ok()?))
}
