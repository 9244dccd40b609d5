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
