//! Remotes against a bare repository on disk (`file://`), as a worker on
//! another machine would use one.

use super::*;

fn sh(dir: &Path, args: &[&str]) -> String {
    let o = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// A bare remote with one commit on main (`remote.git`), and a second
/// clone of it (`other`) to act as someone else; the dir and the URL.
fn remote() -> (tempfile::TempDir, String) {
    let d = tempfile::tempdir().unwrap();
    let seed = d.path().join("seed");
    std::fs::create_dir(&seed).unwrap();
    sh(&seed, &["init", "-q", "-b", "main"]);
    std::fs::write(seed.join("a.txt"), "one\n").unwrap();
    sh(&seed, &["add", "-A"]);
    sh(&seed, &["commit", "-q", "-m", "one"]);
    sh(d.path(), &["clone", "-q", "--bare", "seed", "remote.git"]);
    let url = format!("file://{}", d.path().join("remote.git").display());
    sh(d.path(), &["clone", "-q", &url, "other"]);
    (d, url)
}

fn commit_in(dir: &Path, file: &str, text: &str) -> String {
    std::fs::write(dir.join(file), text).unwrap();
    sh(dir, &["add", "-A"]);
    sh(dir, &["commit", "-q", "-m", file]);
    sh(dir, &["rev-parse", "HEAD"])
}

#[test]
fn only_file_ssh_and_https_remotes_without_credentials_are_taken() {
    for ok in [
        "file:///srv/calc.git",
        "ssh://git@host/acme/calc.git",
        "https://github.com/acme/calc.git",
    ] {
        assert!(check_url(ok).is_ok(), "{ok}");
    }
    for bad in [
        "ext::sh -c touch% /tmp/pwned",
        "/srv/calc.git",
        "-uhack",
        "http://host/x.git",
        "git://host/x.git",
        "https://user:token@github.com/acme/calc.git",
        "file://",
        "ssh://host/a b",
    ] {
        assert!(check_url(bad).is_err(), "{bad}");
    }
    let d = tempfile::tempdir().unwrap();
    assert!(clone_or_fetch(d.path(), "ext::sh -c id").is_err());
}

#[test]
fn a_clone_is_made_once_and_fetched_after() {
    let (d, url) = remote();
    let cache = d.path().join("cache");
    let clone = clone_or_fetch(&cache, &url).unwrap();
    let first = remote_tip(&clone, "main").unwrap();
    let other = d.path().join("other");
    let moved = commit_in(&other, "b.txt", "two\n");
    sh(&other, &["push", "-q", "origin", "main"]);
    assert_eq!(
        clone_or_fetch(&cache, &url).unwrap(),
        clone,
        "the same clone"
    );
    let now = remote_tip(&clone, "main").unwrap();
    assert_ne!(now, first);
    assert_eq!(now, moved);
}

#[test]
fn a_run_branch_is_pushed_once_and_the_target_only_as_a_fast_forward_of_what_was_checked() {
    let (d, url) = remote();
    let cache = d.path().join("cache");
    let clone = clone_or_fetch(&cache, &url).unwrap();
    let base = remote_tip(&clone, "main").unwrap();
    let change = commit_in(&clone, "fix.txt", "fixed\n");
    assert_eq!(
        push_new_branch(&clone, "factory/r1", &change).unwrap(),
        Pushed::Moved
    );
    assert_eq!(
        push_new_branch(&clone, "factory/r1", &change).unwrap(),
        Pushed::Already,
        "a second push is a no-op"
    );
    assert!(
        push_new_branch(&clone, "factory/r1", &base).is_err(),
        "never moved elsewhere"
    );

    // Delivery: main from what the gates saw to the change.
    assert_eq!(
        push_fast_forward(&clone, "main", &base, &change).unwrap(),
        Pushed::Moved
    );
    assert_eq!(
        push_fast_forward(&clone, "main", &base, &change).unwrap(),
        Pushed::Already,
        "delivered once"
    );
    let bare = d.path().join("remote.git");
    assert_eq!(sh(&bare, &["rev-parse", "main"]), change);

    // Someone else moves main; a delivery checked against the old tip is
    // refused and main stays theirs.
    let other = d.path().join("other");
    sh(&other, &["pull", "-q", "origin", "main"]);
    let theirs = commit_in(&other, "theirs.txt", "x\n");
    sh(&other, &["push", "-q", "origin", "main"]);
    sh(&clone, &["reset", "-q", "--hard", &change]);
    let mine = commit_in(&clone, "mine.txt", "y\n");
    assert!(push_fast_forward(&clone, "main", &change, &mine).is_err());
    assert_eq!(sh(&bare, &["rev-parse", "main"]), theirs);
    // Not a fast-forward of what was checked: refused before any push.
    let e = push_fast_forward(&clone, "main", &theirs, &mine).unwrap_err();
    assert!(e.message.contains("not a fast-forward"), "{e}");
}

#[test]
fn a_clone_is_marked_detached_and_finds_a_runs_trailer_in_the_target() {
    let (d, url) = remote();
    let cache = d.path().join("cache");
    let clone = clone_or_fetch(&cache, &url).unwrap();
    assert!(is_clone(&clone), "delivery from it pushes");
    assert!(
        !is_clone(&d.path().join("other")),
        "a checkout of one's own is not"
    );
    assert_eq!(default_branch(&clone).unwrap(), "main");
    assert_eq!(
        sh(&clone, &["rev-parse", "--abbrev-ref", "HEAD"]),
        "HEAD",
        "its own checkout holds no branch"
    );
    // Someone delivers run r1 (its commit carries the trailer).
    let other = d.path().join("other");
    std::fs::write(other.join("b.txt"), "two\n").unwrap();
    sh(&other, &["add", "-A"]);
    sh(&other, &["commit", "-q", "-m", "change\n\nFactory-Run: r1"]);
    sh(&other, &["push", "-q", "origin", "main"]);
    let tip = fetch_branch(&clone, "main").unwrap().unwrap();
    assert_eq!(tip, sh(&other, &["rev-parse", "HEAD"]));
    assert!(
        run_commit_in(&clone, &tip, "r1").unwrap().is_some(),
        "r1 is delivered"
    );
    assert!(
        run_commit_in(&clone, &tip, "r12").unwrap().is_none(),
        "r12 is not"
    );
    assert!(run_commit_in(&clone, &tip, "r").unwrap().is_none());
    assert_eq!(fetch_branch(&clone, "nope").unwrap(), None);
}

#[test]
fn checkpoints_carry_a_runs_branches_to_another_clone_and_go_away() {
    let (d, url) = remote();
    let a = clone_or_fetch(&d.path().join("cache-a"), &url).unwrap();
    let base = remote_tip(&a, "main").unwrap();
    // The run's branch and a subtask's, in clone a.
    for b in ["factory/r7", "factory/r7-t1"] {
        sh(&a, &["branch", b, &base]);
    }
    sh(&a, &["branch", "factory/r70", &base]);
    push_checkpoint(&a, "r7").unwrap();
    let b = clone_or_fetch(&d.path().join("cache-b"), &url).unwrap();
    fetch_checkpoint(&b, "r7").unwrap();
    let branches = sh(
        &b,
        &["for-each-ref", "--format=%(refname)", "refs/heads/factory"],
    );
    assert!(
        branches.contains("refs/heads/factory/r7\n") || branches.ends_with("refs/heads/factory/r7"),
        "{branches}"
    );
    assert!(branches.contains("refs/heads/factory/r7-t1"), "{branches}");
    assert!(
        !branches.contains("factory/r70"),
        "another run's branch stays: {branches}"
    );
    assert!(is_runs_ref("refs/heads/factory/r7-t1", "r7"));
    assert!(!is_runs_ref("refs/heads/factory/r70", "r7"));
    // Nothing is under the remote's branches but main.
    let heads = sh(
        d.path(),
        &[
            "--git-dir",
            "remote.git",
            "for-each-ref",
            "--format=%(refname)",
            "refs/heads",
        ],
    );
    assert_eq!(heads, "refs/heads/main");
    drop_checkpoint(&a, "r7").unwrap();
    let wip = sh(
        d.path(),
        &[
            "--git-dir",
            "remote.git",
            "for-each-ref",
            "--format=%(refname)",
            "refs/factory-wip",
        ],
    );
    assert!(
        !wip.contains("factory/r7-") && !wip.ends_with("factory/r7"),
        "{wip}"
    );
}
