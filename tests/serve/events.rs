//! `GET /api/events`: an SSE client sees a run's steps as they happen.

use super::*;

/// Read SSE events from `path` until `enough` says so (or time runs out).
fn collect(
    s: &Serve,
    path: &str,
    during: impl FnOnce(),
    enough: impl Fn(&[(String, Value)]) -> bool,
) -> Vec<(String, Value)> {
    let url = format!("http://{}{path}", s.addr);
    let mut resp = s.rt.block_on(async {
        reqwest::Client::new()
            .get(url)
            .header("authorization", format!("Bearer {TOKEN}"))
            .send()
            .await
            .unwrap()
    });
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    during();
    s.rt.block_on(async {
        let mut buf = String::new();
        let mut events = Vec::new();
        let until = tokio::time::Instant::now() + Duration::from_secs(240);
        while !enough(&events) {
            let chunk = tokio::time::timeout_at(until, resp.chunk())
                .await
                .unwrap_or_else(|_| panic!("no more events; saw {events:?}"))
                .unwrap()
                .expect("the stream ended");
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(n) = line.strip_prefix("event:") {
                        name = n.trim().to_string();
                    } else if let Some(d) = line.strip_prefix("data:") {
                        data.push_str(d.trim_start());
                    }
                }
                if !name.is_empty() {
                    events.push((name, serde_json::from_str(&data).unwrap_or(Value::Null)));
                }
            }
        }
        events
    })
}

#[test]
fn an_sse_client_sees_a_runs_steps_live() {
    let s = Serve::start();
    let (code, _) = s.request("GET", "/api/events", &[], vec![]);
    assert_eq!(code, 401);
    let mut task = String::new();
    let events = collect(
        &s,
        "/api/events",
        || {
            let (code, r) = s.deliver("issues", "d-1", &s.opened());
            assert_eq!(code, 202, "{r}");
            task = r["task_id"].as_str().unwrap().to_string();
        },
        |ev| ev.iter().any(|(k, v)| k == "task" && v["state"] == "done"),
    );
    assert_eq!(events[0].0, "hello");
    let done = events
        .iter()
        .find(|(k, v)| k == "task" && v["state"] == "done")
        .unwrap();
    assert_eq!(done.1["id"], task.as_str());
    let run = done.1["run_id"].as_str().unwrap().to_string();
    let steps: Vec<&Value> = events
        .iter()
        .filter(|(k, v)| k == "step" && v["run_id"] == run.as_str())
        .map(|(_, v)| v)
        .collect();
    let roles: Vec<&str> = steps
        .iter()
        .filter(|v| v["kind"] == "role")
        .map(|v| v["role"].as_str().unwrap())
        .collect();
    for role in ["architect", "coder", "tester", "reviewer"] {
        assert!(roles.contains(&role), "{role} in {roles:?}");
    }
    assert!(steps.iter().any(|v| v["kind"] == "gate"), "gates seen live");
    assert!(
        events
            .iter()
            .any(|(k, v)| k == "journal" && v["run_id"] == run.as_str()),
        "journal events"
    );
    assert!(
        events
            .iter()
            .any(|(k, v)| k == "task" && v["state"] == "running")
    );

    // Connecting to one run afterwards: its steps so far, in order.
    let (_, view) = s.api("GET", &format!("/api/runs/{run}"), "");
    let all = view["steps"].as_array().unwrap().len();
    let backlog = collect(
        &s,
        &format!("/api/events?run={run}"),
        || {},
        |ev| ev.len() > all,
    );
    let ids: Vec<i64> = backlog
        .iter()
        .filter(|(k, _)| k == "step")
        .map(|(_, v)| v["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), all);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
}
