//! Malformed bodies on every endpoint that takes one: a clear 4xx, nothing
//! stored, and the service still serving.

use super::*;

#[test]
fn malformed_bodies_of_each_endpoint_are_refused_and_nothing_is_stored() {
    let s = Serve::with_workers(0);
    let junk: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"[1,2,3]".to_vec(),
        b"null".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x80],
        b"{\"action\": 7, \"issue\": \"no\"}".to_vec(),
        "{\"a\":".repeat(10_000).into_bytes(),
    ];
    for body in &junk {
        let what = String::from_utf8_lossy(&body[..body.len().min(40)]).to_string();
        // GitHub, correctly signed.
        let h = vec![
            ("x-github-event", "issues".to_string()),
            ("x-github-delivery", "d-m".to_string()),
            ("x-hub-signature-256", sign(SECRET, body)),
        ];
        let (code, r) = s.request("POST", "/hooks/github", &h, body.clone());
        assert_eq!(code, 400, "github {what}: {r}");
        // Slack, correctly signed, as JSON and as a form.
        let (code, r) = s.slack(body, "application/json", None, &[]);
        assert_eq!(code, 400, "slack {what}: {r}");
        let (code, r) = s.slack(body, "application/x-www-form-urlencoded", None, &[]);
        assert_eq!(code, 400, "slack form {what}: {r}");
        // Alertmanager, with its token.
        let h = vec![("authorization", format!("Bearer {ALERT_TOKEN}"))];
        let (code, r) = s.request("POST", "/hooks/alertmanager", &h, body.clone());
        assert!(code == 400, "alertmanager {what}: {code} {r}");
    }
    // An alert missing what an alert has.
    let (code, r) = s.alert(&json!({"alerts": [{"status": "firing", "labels": {}}]}));
    assert_eq!(code, 400, "{r}");
    // The API: an empty spec, a spec that is not text, an unknown format.
    for (path, body) in [
        ("/api/tasks", b"".to_vec()),
        ("/api/tasks", b"   \n".to_vec()),
        ("/api/tasks", vec![0xff, 0xfe]),
        ("/api/tasks?format=no-such-format", b"# t\n".to_vec()),
        // Review feedback is no spec: it comes only from a verified review.
        (
            "/api/tasks?format=feedback",
            br#"{"run_id": "r1", "id": "x", "from": "me", "summary": "redo it", "details": ""}"#
                .to_vec(),
        ),
        ("/api/tasks?repo=no/such", b"# t\n".to_vec()),
    ] {
        let auth = vec![("authorization", format!("Bearer {TOKEN}"))];
        let (code, r) = s.request("POST", path, &auth, body);
        assert_eq!(code, 400, "{path}: {r}");
        assert!(r["error"].is_string(), "{r}");
    }
    // Decisions on runs that do not exist, whatever the body.
    for action in ["approve", "reject", "cancel"] {
        let (code, r) = s.api("POST", &format!("/api/runs/nope/{action}"), "{{{{");
        assert_eq!(code, 404, "{action}: {r}");
    }
    // Too large a body.
    let huge = vec![b'a'; 26 << 20];
    let h = vec![
        ("x-hub-signature-256", sign(SECRET, &huge)),
        ("x-github-event", "issues".into()),
        ("x-github-delivery", "big".into()),
    ];
    let (code, _) = s.request("POST", "/hooks/github", &h, huge);
    assert_eq!(code, 413);

    let (_, tasks) = s.api("GET", "/api/tasks", "");
    assert_eq!(tasks, json!([]), "nothing stored");
    let (code, _) = s.api("GET", "/api/runs", "");
    assert_eq!(code, 200, "still serving");
}
