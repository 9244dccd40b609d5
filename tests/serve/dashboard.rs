//! The dashboard in a real browser: Debian's chromium driven by Playwright
//! (tests/serve/browser/dashboard.py). Sign-in, a run appearing and
//! moving live, approving from the inbox (which merges), the run page's
//! timeline, JavaScript off; the run page's screenshot is kept under
//! target/dashboard/.

use super::*;

#[test]
fn the_dashboard_shows_a_run_live_and_approving_from_the_inbox_merges() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join("target/guest-tools/venv/bin/python");
    assert!(
        python.exists() && Path::new("/usr/bin/chromium").exists(),
        "this test needs Playwright (bash .ci/guest-tools) and Debian's chromium (apt-get install chromium)"
    );
    let shots = root.join("target/dashboard");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("run.png");
    let _ = std::fs::remove_file(&shot);
    let s = Serve::start();
    let before = common::main_head(&s.repo);
    let out = Command::new(&python)
        .arg(root.join("tests/serve/browser/dashboard.py"))
        .env("BASE", format!("http://{}", s.addr))
        .env("TOKEN", TOKEN)
        .env("SECRET", SECRET)
        .env("ISSUE", s.issue.to_string())
        .env("SHOT", &shot)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}\nservice log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
    let seen: Value = serde_json::from_slice(
        out.stdout
            .rsplit(|b| *b == b'\n')
            .find(|l| !l.is_empty())
            .unwrap(),
    )
    .unwrap();
    // Approving in the browser merged the draft into main.
    let run = seen["run"].as_str().unwrap();
    let (_, v) = s.api("GET", &format!("/api/runs/{run}"), "");
    let res = &v["run"]["result"];
    assert_eq!(res["delivery"], "merged", "{res}");
    assert_eq!(res["decision"]["by"], "the dashboard");
    let head = common::main_head(&s.repo);
    assert_ne!(head, before);
    assert_eq!(res["merge_commit"].as_str(), Some(head.as_str()));
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a screenshot of the run page"
    );
}
