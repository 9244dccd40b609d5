//! The API: every path needs the token; a spec posted becomes a task.

use super::*;

#[test]
fn every_api_path_is_refused_without_the_token() {
    let s = Serve::start();
    for (method, path) in [
        ("GET", "/api/tasks"),
        ("GET", "/api/tasks/t-000000000000"),
        ("POST", "/api/tasks"),
        ("GET", "/api/runs"),
        ("GET", "/api/runs/r-1"),
        ("POST", "/api/runs/r-1/approve"),
        ("POST", "/api/runs/r-1/reject"),
        ("POST", "/api/runs/r-1/cancel"),
        ("POST", "/api/tasks/t-000000000000/cancel"),
        ("GET", "/api/events"),
        ("GET", "/"),
        ("GET", "/runs/r-1"),
        ("POST", "/runs/r-1/approve"),
        ("POST", "/runs/r-1/reject"),
        ("POST", "/runs/r-1/cancel"),
    ] {
        for auth in [
            vec![],
            vec![(
                "authorization",
                "Bearer wrong-token-wrong-token".to_string(),
            )],
            vec![("authorization", format!("Basic {TOKEN}"))],
            vec![("authorization", "Bearer ".to_string())],
            vec![("cookie", "factory_token=wrong".to_string())],
            vec![("cookie", format!("other={TOKEN}"))],
        ] {
            let (code, r) = s.request(method, path, &auth, b"# spec".to_vec());
            assert_eq!(code, 401, "{method} {path} {auth:?}: {r}");
        }
    }
    let (_, tasks) = s.api("GET", "/api/tasks", "");
    assert_eq!(tasks, json!([]), "nothing got through");
}

#[test]
fn a_posted_spec_is_queued_and_bad_ones_are_refused() {
    let s = Serve::start();
    let (code, r) = s.api("POST", "/api/tasks?repo=acme/calc", "");
    assert_eq!(code, 400, "{r}");
    assert!(r["error"].as_str().unwrap().contains("empty"), "{r}");
    let (code, r) = s.api("POST", "/api/tasks?repo=other/repo", "# Fix it\n");
    assert_eq!(code, 400, "{r}");
    let (code, r) = s.api("GET", "/api/tasks/t-000000000000", "");
    assert_eq!(code, 404, "{r}");
    let (code, r) = s.api("GET", "/api/runs/no-such-run", "");
    assert_eq!(code, 404, "{r}");
    let (code, r) = s.api("GET", "/nowhere", "");
    assert_eq!(code, 404, "{r}");
    // The example issue, as a spec in the GitHub format, over the API
    // (one repository: no ?repo needed).
    let (code, r) = s.api("POST", "/api/tasks", &s.issue.to_string());
    assert_eq!(code, 202, "{r}");
    let id = r["task_id"].as_str().unwrap();
    let t = s.finished(id);
    assert_eq!(t["state"], "done", "{t}\n{}", s.log());
    assert_eq!(t["source"], "api");
    assert_eq!(t["title"], "mean() crashes on an empty list");
}

#[test]
fn a_recorded_session_posted_to_the_api_is_a_reproduction_task() {
    let s = Serve::with_workers(0);
    let har = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/intake/session.har"),
    )
    .unwrap();
    let (code, r) = s.api("POST", "/api/tasks", &har);
    assert_eq!(code, 202, "{r}");
    let (_, t) = s.api(
        "GET",
        &format!("/api/tasks/{}", r["task_id"].as_str().unwrap()),
        "",
    );
    assert_eq!(t["format"], "auto");
    assert_eq!(
        t["title"], "Reproduce: POST /api/mean?token=…&debug=… answers 500",
        "{t}"
    );
    // A JSON document that is no spec of any kind is refused at once.
    let (code, r) = s.api("POST", "/api/tasks", r#"{"hello": "world"}"#);
    assert_eq!(code, 400, "{r}");
    assert!(
        r["error"].as_str().unwrap().contains("cannot be read"),
        "{r}"
    );
}
