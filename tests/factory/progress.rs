//! Live progress: `factory run --progress` shows each step on standard
//! error as it starts and as it ends; without a terminal (or with --json)
//! nothing but the outcome is printed.

use crate::fx::*;

#[test]
fn progress_shows_each_step_and_stays_out_of_machine_output() {
    let home = shared_home();
    let d = tempfile::tempdir().unwrap();
    example(d.path());
    let o = run_output(&home, d.path(), &["--progress"]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let err = text(&o.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with('[')).collect();
    let at = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` in {lines:#?}"))
    };
    // Each step starts, then ends with its outcome and the spend so far.
    assert!(at("fix-mean  coder #1  started") < at("fix-mean  coder #1  ok"));
    assert!(at("fix-mean  tester #1  ok") < at("fix-mean  coder #2  started"));
    assert!(at("@review  reviewer #1  started") < at("@deliver  deliver  ok"));
    assert!(lines[at("fix-mean  coder #1  ok")].contains(" tokens, $"));
    assert!(lines.last().unwrap().contains("@run  note  done"));

    // Not a terminal, no --progress: standard error stays clean; --json
    // keeps standard output one JSON document.
    let d = tempfile::tempdir().unwrap();
    example(d.path());
    let o = run_output(&home, d.path(), &["--json"]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert!(
        !text(&o.stderr).lines().any(|l| l.starts_with('[')),
        "{}",
        text(&o.stderr)
    );
    serde_json::from_slice::<serde_json::Value>(&o.stdout).expect("stdout is one JSON document");
}
