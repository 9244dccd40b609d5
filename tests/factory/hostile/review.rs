//! Class 3: the reviewer sees the whole change, or its review does not
//! count. A coder hides most of a change behind one line longer than the
//! reviewer's window.

use crate::fx::*;

/// A diff too big for the reviewer's window: the reviewer is told what was
/// cut, its approval does not count, the size gate counts bytes (one 300 KB
/// line is not "one line"), and the report links the change instead of
/// embedding all of it.
#[test]
fn a_truncated_review_cannot_approve_and_bytes_count() {
    let home = shared_home();
    let d = tempfile::tempdir().unwrap();
    let repo = example(d.path());
    let mut s = session(d.path());
    let coder = exchange_mut(&mut s, "fix-mean/coder/2", 0);
    let mut calls: Vec<(String, serde_json::Value)> = reply_calls(coder);
    calls.insert(
        0,
        (
            "write-file".into(),
            serde_json::json!({"path": "NOTES.md", "content": format!("{}\n", "x".repeat(300_000))}),
        ),
    );
    let calls: Vec<(&str, serde_json::Value)> =
        calls.iter().map(|(n, a)| (n.as_str(), a.clone())).collect();
    coder["response"] = reply("", &calls);
    save_session(d.path(), &s);
    let main_before = git(&repo, &["rev-parse", "main"]);
    let record = d.path().join("seen.jsonl");
    let (c, out) = run(&home, d.path(), &["--record", record.to_str().unwrap()]);
    assert_eq!(c, 0, "{out}");
    assert_eq!(out["result"]["delivery"], "draft", "{out:#}");
    let review = gate(&out, "review-approved");
    assert_eq!(review["passed"], false, "{review}");
    assert!(
        review["evidence"].as_str().unwrap().contains("truncated"),
        "{review}"
    );
    let size = gate(&out, "diff-size");
    assert_eq!(size["passed"], false, "{size}");
    assert!(
        size["evidence"]
            .as_str()
            .unwrap()
            .contains("bytes of diff, limit 200000"),
        "{size}"
    );
    // What the reviewer was sent says where it was cut and what is missing.
    let seen = std::fs::read_to_string(&record).unwrap();
    let review_request = seen
        .lines()
        .find(|l| l.contains("\"stream\":\"@review/reviewer/1\""))
        .expect("the review was recorded");
    assert!(
        review_request.contains("the diff is truncated here")
            && review_request.contains("not shown in full: "),
        "{}",
        &review_request[review_request.len().saturating_sub(2000)..]
    );
    assert_eq!(
        git(&repo, &["rev-parse", "main"]),
        main_before,
        "main moved"
    );
    let html = std::fs::read_to_string(out["report"].as_str().unwrap()).unwrap();
    assert!(
        html.contains("the first 262144 are shown") && html.contains("change.patch"),
        "the report links the whole change"
    );
    assert!(
        html.len() < 400_000,
        "the report embeds {} bytes",
        html.len()
    );
}
