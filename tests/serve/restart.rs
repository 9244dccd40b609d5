//! kill -9 in the middle of a run: nothing accepted is lost, the run
//! resumes from its journal, and no run is started twice.

use super::*;

#[test]
fn a_run_killed_mid_way_resumes_after_a_restart_and_is_not_started_twice() {
    let mut s = Serve::start();
    let (code, r) = s.deliver("issues", "d-1", &s.opened());
    assert_eq!(code, 202, "{r}");
    let id = r["task_id"].as_str().unwrap().to_string();
    // Accepted and waiting, too: it must survive as well.
    let (code, r) = s.api(
        "POST",
        "/api/tasks",
        "# Document mean()\n\nSay what it returns.\n",
    );
    assert_eq!(code, 202, "{r}");
    let second = r["task_id"].as_str().unwrap().to_string();

    let running = s.wait_task(&id, |t| t["run_id"].is_string());
    assert_eq!(running["state"], "running", "killed mid-run: {running}");
    let run_id = running["run_id"].as_str().unwrap().to_string();
    s.kill9();

    // A second service on the same home is refused while one runs; after
    // the kill, a restart takes the task up again.
    s.launch();
    let t = s.finished(&id);
    assert_eq!(t["state"], "done", "{t}\n{}", s.log());
    assert_eq!(
        t["run_id"].as_str(),
        Some(run_id.as_str()),
        "the same run, resumed"
    );
    assert!(t["attempts"].as_u64().unwrap() >= 2, "{t}");
    let other = s.finished(&second);
    assert_ne!(other["state"], "queued");
    let (_, runs) = s.api("GET", "/api/runs", "");
    let ids: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.iter().filter(|i| **i == run_id).count(), 1);
    assert_eq!(ids.len(), 2, "one run per task: {ids:?}");
    assert!(s.log().contains("resuming the task's run"), "{}", s.log());
}

#[test]
fn a_second_service_on_the_same_home_is_refused() {
    let s = Serve::start();
    let d = s.dir.path();
    let o = Command::new(FACTORY)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--token-file")
        .arg(d.join("token"))
        .arg("--repo")
        .arg(format!("acme/calc={}", s.repo.display()))
        .env("FACTORY_HOME", d.join("home"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("another `factory serve` is running"), "{err}");
}
