//! A burst of 50 distinct deliveries: each acknowledged at once, each one
//! run.

use super::*;

#[test]
fn a_burst_of_50_deliveries_is_acknowledged_at_once_and_runs_once_each() {
    let s = Serve::start();
    let mut tasks = Vec::new();
    let mut slowest = Duration::ZERO;
    for n in 0..50 {
        let mut p = s.opened();
        p["issue"]["number"] = json!(1000 + n);
        p["issue"]["title"] = json!(format!("Issue {n}: mean() fails for input set number {n}"));
        let started = Instant::now();
        let (code, r) = s.deliver("issues", &format!("burst-{n}"), &p);
        slowest = slowest.max(started.elapsed());
        assert_eq!(code, 202, "{r}");
        tasks.push(r["task_id"].as_str().unwrap().to_string());
    }
    // Acknowledged before the work: well under a second each, whatever
    // the workers are doing.
    assert!(
        slowest < Duration::from_secs(1),
        "slowest acknowledgement {slowest:?}"
    );
    let mut runs = std::collections::BTreeSet::new();
    for t in &tasks {
        let t = s.finished(t);
        assert!(t["run_id"].is_string(), "{t}");
        assert!(
            runs.insert(t["run_id"].as_str().unwrap().to_string()),
            "one run per task"
        );
        assert_eq!(t["attempts"], 1, "{t}");
    }
    let (_, all) = s.api("GET", "/api/runs", "");
    assert_eq!(all.as_array().unwrap().len(), 50, "one run each, no more");
}
