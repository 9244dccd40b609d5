//! The sandbox the exec capability and the host's own test runs share
//! (`run_sandboxed`): what a command sees and may touch, and how long and
//! how much it may run. Needs bubblewrap, as every command does.

use super::*;

fn cmd(program: &str, args: &[&str], dirs: Vec<(PathBuf, Access)>) -> Sandboxed {
    Sandboxed {
        program: PathBuf::from(program),
        args: args.iter().map(|s| s.to_string()).collect(),
        cwd: dirs.first().map_or(PathBuf::from("/tmp"), |d| d.0.clone()),
        dirs,
        env: Vec::new(),
        stdin: None,
        timeout: Duration::from_secs(20),
        cap: 1 << 20,
    }
}

#[tokio::test]
async fn a_read_only_directory_cannot_be_written_and_a_read_write_one_can() {
    let d = tempfile::tempdir().unwrap();
    let ro = d.path().join("ro");
    let rw = d.path().join("rw");
    std::fs::create_dir_all(&ro).unwrap();
    std::fs::create_dir_all(&rw).unwrap();
    let write = |dir: &Path| format!("echo x > {}/f", dir.display());
    let r = run_sandboxed(cmd(
        "/bin/sh",
        &["-c", &write(&ro)],
        vec![(ro.clone(), Access::ReadOnly)],
    ))
    .await
    .unwrap();
    assert_ne!(r.exit_code, Some(0));
    assert!(!ro.join("f").exists());
    let r = run_sandboxed(cmd(
        "/bin/sh",
        &["-c", &write(&rw)],
        vec![(rw.clone(), Access::ReadWrite)],
    ))
    .await
    .unwrap();
    assert_eq!(
        r.exit_code,
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert!(rw.join("f").exists());
    // Nothing outside the granted directories is there at all.
    let r = run_sandboxed(cmd(
        "/bin/sh",
        &["-c", &format!("ls {}", d.path().join("ro").display())],
        vec![(rw.clone(), Access::ReadWrite)],
    ))
    .await
    .unwrap();
    assert_ne!(r.exit_code, Some(0));
}

#[tokio::test]
async fn the_host_environment_is_not_passed_on() {
    // SAFETY-free: a variable only this test reads.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("FACTORY_TEST_EXEC_SECRET", "leaked")
    };
    let mut c = cmd("/usr/bin/env", &[], vec![]);
    c.env = vec![("GIVEN".into(), "yes".into())];
    let r = run_sandboxed(c).await.unwrap();
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(out.contains("GIVEN=yes"), "{out}");
    assert!(!out.contains("leaked"), "{out}");
}

#[tokio::test]
async fn a_command_past_its_time_is_killed_and_a_flood_is_cut() {
    let mut c = cmd("/bin/sleep", &["30"], vec![]);
    c.timeout = Duration::from_millis(300);
    let r = run_sandboxed(c).await.unwrap();
    assert!(r.timed_out && r.exit_code.is_none());
    let mut c = cmd("/bin/sh", &["-c", "yes | head -c 100000"], vec![]);
    c.cap = 1000;
    let r = run_sandboxed(c).await.unwrap();
    assert!(r.truncated);
    assert_eq!(r.stdout.len(), 1000);
}

#[test]
fn paths_are_normalized_lexically() {
    assert_eq!(
        normalize(Path::new("/a/b/../c/./d")),
        PathBuf::from("/a/c/d")
    );
    assert_eq!(normalize(Path::new("/../../etc")), PathBuf::from("/etc"));
}
