//! Alertmanager: the bearer token, a firing alert as an incident task with
//! its labels, annotations and generator URL, and its resolution as a note.

use super::*;

fn notification(status: &str) -> Value {
    json!({
        "version": "4", "groupKey": "{}:{alertname=\"MeanErrors\"}", "truncatedAlerts": 0,
        "status": status, "receiver": "factory",
        "groupLabels": {"alertname": "MeanErrors"},
        "commonLabels": {"alertname": "MeanErrors", "severity": "critical"},
        "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
        "alerts": [{
            "status": status,
            "labels": {"alertname": "MeanErrors", "severity": "critical", "service": "calc", "repository": "acme/calc"},
            "annotations": {"summary": "ZeroDivisionError in mean()", "description": "mean([]) raises; 12 errors in 5 minutes", "runbook_url": "https://runbooks.example/mean"},
            "startsAt": "2026-12-06T10:00:00.000Z", "endsAt": if status == "resolved" { "2026-12-06T10:30:00.000Z" } else { "0001-01-01T00:00:00Z" },
            "generatorURL": "http://prometheus:9090/graph?g0.expr=rate%28errors_total%5B5m%5D%29",
            "fingerprint": "a1b2c3d4e5f60718"
        }]
    })
}

#[test]
fn a_firing_alert_is_an_incident_task_and_its_resolution_a_note() {
    let s = Serve::with_workers(0);
    let body = notification("firing").to_string().into_bytes();
    for auth in [
        vec![],
        vec![("authorization", "Bearer wrong".to_string())],
        vec![("authorization", format!("Bearer {TOKEN}"))],
    ] {
        let (code, r) = s.request("POST", "/hooks/alertmanager", &auth, body.clone());
        assert_eq!(code, 401, "{auth:?}: {r}");
    }
    let (_, tasks) = s.api("GET", "/api/tasks", "");
    assert_eq!(tasks, json!([]));

    let (code, r) = s.alert(&notification("firing"));
    assert_eq!(code, 202, "{r}");
    let a = &r["alerts"][0];
    assert_eq!(a["outcome"], "queued", "{r}");
    let id = a["task_id"].as_str().unwrap().to_string();
    let (_, t) = s.api("GET", &format!("/api/tasks/{id}"), "");
    assert_eq!(
        (t["source"].as_str(), t["format"].as_str()),
        (Some("alertmanager"), Some("markdown")),
        "{t}"
    );
    assert_eq!(
        t["title"],
        "Incident: MeanErrors: ZeroDivisionError in mean()"
    );
    let spec = t["spec"].as_str().unwrap();
    for part in [
        "- label service: calc",
        "- label severity: critical",
        "- annotation description: mean([]) raises; 12 errors in 5 minutes",
        "- annotation runbook_url: https://runbooks.example/mean",
        "- generator URL: http://prometheus:9090/graph?g0.expr=rate%28errors_total%5B5m%5D%29",
        "priority: urgent",
    ] {
        assert!(spec.contains(part), "{part}:\n{spec}");
    }
    // The same notification again (Alertmanager repeats it): one task.
    let (code, r) = s.alert(&notification("firing"));
    assert_eq!(
        (code, &r["alerts"][0]["outcome"]),
        (200, &json!("duplicate")),
        "{r}"
    );

    // Resolved: a note on the task.
    let (code, r) = s.alert(&notification("resolved"));
    assert_eq!(
        (
            code,
            &r["alerts"][0]["outcome"],
            r["alerts"][0]["task_id"].as_str()
        ),
        (200, &json!("annotated"), Some(id.as_str())),
        "{r}"
    );
    let (_, t) = s.api("GET", &format!("/api/tasks/{id}"), "");
    assert_eq!(
        t["notes"][0]["note"], "alert MeanErrors resolved at 2026-12-06T10:30:00.000Z",
        "{t}"
    );

    // An intake of the brief the alert became (what a run starts from).
    let brief = s.dir.path().join("alert.md");
    std::fs::write(&brief, spec).unwrap();
    let out = Command::new(FACTORY)
        .args(["intake", "--json"])
        .arg(&brief)
        .env("FACTORY_HOME", s.dir.path().join("intake-home"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let task: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(task["priority"], "urgent", "{task}");
    assert!(
        task["acceptance_criteria"].as_array().unwrap().len() >= 2,
        "{task}"
    );
    let (_, tasks) = s.api("GET", "/api/tasks", "");
    assert_eq!(tasks.as_array().unwrap().len(), 1);
}
