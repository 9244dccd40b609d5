//! `factory intake` on real-shaped inputs of every format, and its errors.

use crate::fx::*;
use serde_json::Value;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/intake")
        .join(name)
}

fn intake(args: &[&str]) -> (i32, Value, String) {
    let o = factory(&shared_home(), &[&["intake"], args, &["--json"]].concat());
    (
        code(&o),
        serde_json::from_slice(&o.stdout).unwrap_or_default(),
        text(&o.stderr),
    )
}

fn task(name: &str) -> Value {
    let (c, t, err) = intake(&[fixture(name).to_str().unwrap()]);
    assert_eq!(c, 0, "{name}: {err}");
    assert_eq!(t["schema"], "factory.task/v1");
    t
}

#[test]
fn github_issue_object_and_webhook() {
    let t = task("github-issue.json");
    assert_eq!(t["title"], "mean() crashes on an empty list");
    assert_eq!(t["source"]["format"], "github-issue");
    assert_eq!(t["source"]["url"], "https://github.com/acme/calc/issues/42");
    assert_eq!(t["source"]["author"], "octocat");
    assert_eq!(t["priority"], "high", "label P1");
    assert_eq!(t["labels"], serde_json::json!(["bug", "P1"]));
    assert_eq!(
        t["acceptance_criteria"],
        serde_json::json!(["`mean([])` returns `0`", "the existing tests still pass"])
    );
    assert_eq!(t["scope"], serde_json::json!(["calc.py", "test_calc.py"]));
    assert!(t["intent"].as_str().unwrap().contains("ZeroDivisionError"));
    assert!(t["intent"].as_str().unwrap().contains("The code is in"));
    let w = task("github-webhook-issues.json");
    assert_eq!(w["source"]["id"], "acme/calc#42");
    assert_eq!(w["title"], t["title"]);
    let (c, _, err) = intake(&[fixture("github-pull-request.json").to_str().unwrap()]);
    assert_eq!(c, 2);
    assert!(err.contains("#43 is a pull request, not an issue"), "{err}");
}

#[test]
fn markdown_brief_with_front_matter() {
    let t = task("brief.md");
    assert_eq!(t["title"], "Add a `median` function");
    assert_eq!(t["priority"], "high");
    assert_eq!(t["labels"], serde_json::json!(["feature", "cli"]));
    assert_eq!(
        t["scope"],
        serde_json::json!(["calc.py", "test_calc.py", "README.md"])
    );
    assert_eq!(t["acceptance_criteria"].as_array().unwrap().len(), 4);
    assert!(
        t["intent"]
            .as_str()
            .unwrap()
            .starts_with("Users keep asking")
    );
    // Front-matter mistakes name the line and what is allowed.
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("bad.md");
    std::fs::write(&f, "---\npriority: soonish\n---\n# T\n").unwrap();
    let (c, _, err) = intake(&[f.to_str().unwrap(), "--format", "markdown"]);
    assert_eq!(c, 2);
    assert!(
        err.contains("line 2") && err.contains("soonish") && err.contains("urgent"),
        "{err}"
    );
    std::fs::write(&f, "---\nowner: me\n---\n# T\n").unwrap();
    let (_, _, err) = intake(&[f.to_str().unwrap()]);
    assert!(err.contains("unknown front-matter key `owner`"), "{err}");
    std::fs::write(&f, "---\nscope: ../etc\n---\n# T\n").unwrap();
    let (_, _, err) = intake(&[f.to_str().unwrap()]);
    assert!(err.contains("scope"), "{err}");
}

#[test]
fn failing_test_output_of_each_framework() {
    for (file, framework, first) in [
        ("cargo-test-fail.txt", "cargo-test", "tests::overflow"),
        (
            "pytest-fail.txt",
            "pytest",
            "test_calc.py::TestCalc::test_divide_by_zero_returns_none",
        ),
        (
            "unittest-fail.txt",
            "unittest",
            "test_calc.TestCalc.test_divide_by_zero_returns_none",
        ),
        (
            "junit-pytest.xml",
            "junit",
            "test_calc.TestCalc.test_divide_by_zero_returns_none",
        ),
        ("cargo-build-fail.txt", "cargo-test", "(build)"),
    ] {
        let t = task(file);
        assert_eq!(t["source"]["format"], "test-output", "{file}");
        assert!(
            t["labels"]
                .as_array()
                .unwrap()
                .contains(&Value::from(framework)),
            "{file}: {}",
            t["labels"]
        );
        assert_eq!(t["failures"][0]["name"], first, "{file}");
        assert!(t["failures"][0]["line"].as_u64().is_some(), "{file}: where");
        assert!(
            !t["failures"][0]["message"].as_str().unwrap().is_empty(),
            "{file}: why"
        );
        assert_eq!(t["priority"], "high");
    }
    // Passing output is not a task.
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("ok.txt");
    std::fs::write(&f, "running 1 test\ntest a ... ok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n").unwrap();
    let (c, _, err) = intake(&[f.to_str().unwrap()]);
    assert_eq!(c, 2);
    assert!(err.contains("no failing tests"), "{err}");
}

#[test]
fn slack_message_event() {
    // A bare message event (no Events API envelope).
    let d = tempfile::tempdir().unwrap();
    let bare = d.path().join("bare.json");
    std::fs::write(
        &bare,
        r#"{"type": "message", "text": "please make mean() return 0 for an empty list", "user": "U1", "channel": "C1", "ts": "1.2"}"#,
    )
    .unwrap();
    let (c, b, err) = intake(&[bare.to_str().unwrap()]);
    assert_eq!(c, 0, "{err}");
    assert_eq!(b["source"]["format"], "chat");
    let t = task("slack-event.json");
    assert_eq!(t["source"]["format"], "chat");
    assert_eq!(t["priority"], "urgent");
    assert_eq!(t["source"]["author"], "U2147483697");
    assert!(
        t["title"]
            .as_str()
            .unwrap()
            .ends_with("can you make it return 0?"),
        "{}",
        t["title"]
    );
    assert!(
        !t["intent"].as_str().unwrap().contains("<@"),
        "mentions are resolved"
    );
    assert!(
        t["intent"]
            .as_str()
            .unwrap()
            .contains("#42 (https://github.com/acme/calc/issues/42)")
    );
    assert_eq!(t["scope"], serde_json::json!(["calc.py"]));
}

#[test]
fn bad_and_empty_input_say_what_was_expected() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("empty.txt");
    std::fs::write(&f, "  \n").unwrap();
    let (c, _, err) = intake(&[f.to_str().unwrap()]);
    assert_eq!(c, 2);
    assert!(
        err.contains("the input is empty")
            && err.contains("github-issue (")
            && err.contains("test-output ("),
        "{err}"
    );
    std::fs::write(&f, "{\"hello\": 1}").unwrap();
    let (c, _, err) = intake(&[f.to_str().unwrap()]);
    assert_eq!(c, 2);
    assert!(err.contains("cannot tell what this input is"), "{err}");
    let (c, _, err) = intake(&[f.to_str().unwrap(), "--format", "github-issue"]);
    assert_eq!(c, 2);
    assert!(err.contains("expected a GitHub issue object"), "{err}");
    let (c, _, err) = intake(&[f.to_str().unwrap(), "--format", "jira"]);
    assert_eq!(c, 2);
    assert!(
        err.contains("unknown format `jira`") && err.contains("markdown"),
        "{err}"
    );
    let (c, _, err) = intake(&[d.path().join("missing").to_str().unwrap()]);
    assert_eq!(c, 2);
    assert!(err.contains("cannot read"), "{err}");
    // Standard input, and the human-readable form.
    let mut child = std::process::Command::new(BIN)
        .args(["intake", "-"])
        .env("FACTORY_HOME", shared_home())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"# Speed up parsing\n\nIt is slow.\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let out = text(&o.stdout);
    assert!(
        out.starts_with("Speed up parsing\n") && out.contains("format:    markdown"),
        "{out}"
    );
}

#[test]
fn a_recorded_session_becomes_a_reproduction_task_without_its_secrets() {
    let t = task("session.har");
    assert_eq!(t["source"]["format"], "session");
    assert_eq!(
        t["title"],
        "Reproduce: POST /api/mean?token=…&debug=… answers 500"
    );
    let intent = t["intent"].as_str().unwrap();
    for part in [
        "a HAR file, from WebInspector 537.36",
        "`POST https://localhost:8000/api/mean?token=…&debug=…` answered 500 Internal Server Error",
        "ZeroDivisionError: division by zero",
        "1 more failures followed, the next: `GET http://localhost:8000/api/median` got no answer (net::ERR_CONNECTION_RESET)",
        "- GET http://localhost:8000/stats?session=… → 200",
    ] {
        assert!(intent.contains(part), "{part}:\n{intent}");
    }
    assert_eq!(
        t["acceptance_criteria"][0],
        "`POST /api/mean?token=…&debug=…` as the session made it no longer answers 500"
    );
    assert_eq!(t["priority"], "high");
    assert_eq!(t["labels"], serde_json::json!(["reproduction", "session"]));
    let all = t.to_string();
    for secret in [
        "COOKIE-SECRET",
        "AUTH-SECRET",
        "TOKEN-SECRET",
        "hunter2",
        "s3cr3t",
    ] {
        assert!(
            !all.contains(secret),
            "{secret} leaked into the task: {all}"
        );
    }

    let r = task("recording.json");
    assert_eq!(
        r["title"],
        "Reproduce: console error: Uncaught TypeError: Cannot read properties of undefined (reading 'toFixed')"
    );
    let intent = r["intent"].as_str().unwrap();
    assert!(intent.contains("- clicked button#average"), "{intent}");
    assert!(intent.contains("- typed into #password"), "{intent}");
    assert!(!r.to_string().contains("PASSWORD-SECRET"));
    assert!(
        r["acceptance_criteria"][0]
            .as_str()
            .unwrap()
            .contains("no longer occurs when the recorded steps are followed")
    );

    // A recording in which nothing failed is not a task.
    let (c, _, err) = intake(&[
        fixture("recorder-no-failure.json").to_str().unwrap(),
        "--format",
        "session",
    ]);
    assert_eq!(c, 2, "{err}");
    assert!(err.contains("nothing to reproduce"), "{err}");
}
