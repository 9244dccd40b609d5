//! Host git against what a role could plant in its worktree (metadata,
//! attributes, odd names), and against parallel worktrees.

use super::*;

/// A repository with one commit on main and a worktree on branch `w`.
fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let repo = d.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let repo = init_repo(&repo, "main").unwrap();
    std::fs::write(repo.join("a.txt"), "one\n").unwrap();
    commit_all(&repo, "init").unwrap().unwrap();
    let wt = d.path().join("wt");
    worktree_add(&repo, &wt, "w", "main").unwrap();
    (d, repo, wt)
}

/// Replace the worktree's `.git` file with a repository of the role's
/// own whose config runs `marker`'s touch from fsmonitor, a hook and a
/// filter driver.
fn plant_git_dir(wt: &Path, marker: &Path) {
    std::fs::remove_file(wt.join(".git")).unwrap();
    let g = wt.join(".git");
    for sub in ["objects", "refs/heads", "hooks"] {
        std::fs::create_dir_all(g.join(sub)).unwrap();
    }
    std::fs::write(g.join("HEAD"), "ref: refs/heads/main\n").unwrap();
    let touch = format!("touch {}", marker.display());
    std::fs::write(
        g.join("config"),
        format!(
            "[core]\n\trepositoryformatversion = 0\n\tbare = false\n\tfsmonitor = \"{touch}\"\n[filter \"evil\"]\n\tclean = \"{touch}; cat\"\n\tsmudge = \"{touch}; cat\"\n[diff \"evil\"]\n\ttextconv = \"{touch}; cat\"\n"
        ),
    )
    .unwrap();
    let hook = g.join("hooks/pre-commit");
    std::fs::write(&hook, format!("#!/bin/sh\n{touch}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(wt.join(".gitattributes"), "* filter=evil diff=evil -diff\n").unwrap();
}

#[test]
fn a_planted_git_dir_is_never_obeyed() {
    let (d, repo, wt) = setup();
    let marker = d.path().join("pwned");
    plant_git_dir(&wt, &marker);
    let main_before = rev(&repo, "main").unwrap();
    std::fs::write(wt.join("a.txt"), "one\ntwo\n").unwrap();
    let sha = commit_all(&wt, "change").unwrap().expect("a commit");
    assert!(!marker.exists(), "the planted config ran");
    // The commit is on the worktree's branch, not on the planted HEAD.
    assert_eq!(rev(&repo, "w").unwrap(), sha);
    assert_eq!(rev(&repo, "main").unwrap(), main_before);
    // `-diff` and textconv cannot hide the change from the host.
    let diff = diff(&wt, &main_before, &sha).unwrap();
    assert!(diff.contains("+two"), "{diff}");
    assert!(!marker.exists());
}

#[test]
fn a_gitdir_pointer_at_the_main_repository_is_ignored() {
    let (_d, repo, wt) = setup();
    std::fs::write(
        wt.join(".git"),
        format!("gitdir: {}\n", repo.join(".git").display()),
    )
    .unwrap();
    let main_before = rev(&repo, "main").unwrap();
    std::fs::write(wt.join("b.txt"), "new\n").unwrap();
    let sha = commit_all(&wt, "change").unwrap().unwrap();
    assert_eq!(rev(&repo, "main").unwrap(), main_before, "main moved");
    assert_eq!(rev(&repo, "w").unwrap(), sha);
    assert!(!repo.join("b.txt").exists());
}

#[test]
fn binary_attributes_and_odd_names_hide_nothing() {
    let (_d, repo, wt) = setup();
    let base = rev(&repo, "main").unwrap();
    std::fs::write(wt.join(".gitattributes"), "* -diff binary\n").unwrap();
    let big: String = (0..3000).map(|i| format!("line {i}\n")).collect();
    std::fs::write(wt.join("big.txt"), &big).unwrap();
    std::fs::write(wt.join("clé.pem"), "-----BEGIN PRIVATE KEY-----\n").unwrap();
    std::fs::write(wt.join("tab\there"), "x\n").unwrap();
    let sha = commit_all(&wt, "change").unwrap().unwrap();
    let patch = wt.with_extension("patch");
    let (bytes, lines) = write_diff(&wt, &base, &sha, &patch).unwrap();
    assert!(
        lines >= 3000 && bytes > 30_000,
        "{lines} lines, {bytes} bytes"
    );
    let d = diff(&wt, &base, &sha).unwrap();
    assert!(
        d.contains("+line 2999") && !d.contains("Binary files"),
        "{}",
        &d[..300]
    );
    let names = changed_files(&wt, &base, &sha).unwrap();
    for n in [".gitattributes", "big.txt", "clé.pem", "tab\there"] {
        assert!(names.iter().any(|x| x == n), "{n:?} not in {names:?}");
    }
    assert!(factory_types::glob::matches("**/*.pem", "clé.pem"));
}

#[test]
fn a_directory_the_host_did_not_open_or_create_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let e = git(d.path(), &["status"]).unwrap_err();
    assert!(
        e.message.contains("not a repository opened by this run"),
        "{e}"
    );
}

#[test]
fn refs_that_move_outside_the_runs_own_branches_are_named() {
    let (_d, repo, wt) = setup();
    let before = refs(&repo).unwrap();
    assert!(before.contains_key("refs/heads/main") && before["HEAD"] == "refs/heads/main");
    std::fs::write(wt.join("c.txt"), "c\n").unwrap();
    commit_all(&wt, "on w").unwrap();
    // `w` plays the run's own branch here: its move is the host's.
    let after = refs(&repo).unwrap();
    assert!(moved_refs(&before, &after, "refs/heads/w").is_empty());
    // Another run's work, through the host's git: not an attack.
    git(&repo, &["branch", "factory/other-run", "w"]).unwrap();
    assert!(moved_refs(&before, &refs(&repo).unwrap(), "refs/heads/w").is_empty());
    // Writes the host did not make (a role's, say): named.
    let attacker = |args: &[&str]| {
        let o = std::process::Command::new("git")
            .args(args)
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    attacker(&["tag", "planted"]);
    attacker(&["update-ref", "refs/heads/main", "w"]);
    let moved = moved_refs(&before, &refs(&repo).unwrap(), "refs/heads/w");
    assert_eq!(moved.len(), 2, "{moved:?}");
    assert!(
        moved[0].starts_with("refs/heads/main: ")
            && moved[1].starts_with("refs/tags/planted: (none) -> "),
        "{moved:?}"
    );
}

/// Parallel subtasks add and remove worktrees of one repository at once;
/// git's own `worktree prune` in one must not eat another's half-made
/// administrative directory.
#[test]
fn worktrees_of_one_repository_can_be_added_at_once() {
    let (d, repo, _) = setup();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let repo = repo.clone();
            let path = d.path().join(format!("par{i}"));
            std::thread::spawn(move || {
                for round in 0..12 {
                    worktree_add(&repo, &path, &format!("p{i}"), "main")
                        .unwrap_or_else(|e| panic!("worktree {i} round {round}: {e}"));
                    assert_eq!(head(&path).unwrap(), rev(&repo, "main").unwrap());
                }
                worktree_remove(&repo, &path);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// One run's ref check while other runs of this process branch and add
/// worktrees: never a move of theirs taken for the checking run's (a check
/// waits until every move under way is noted).
#[test]
fn a_ref_check_never_sees_another_runs_move_before_it_is_noted() {
    let (d, repo, _) = setup();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let movers: Vec<_> = (0..3)
        .map(|i| {
            let (repo, stop) = (repo.clone(), stop.clone());
            let path = d.path().join(format!("mover{i}"));
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    worktree_add(&repo, &path, &format!("factory/other-{i}-{n}"), "main").unwrap();
                    git(
                        &repo,
                        &["branch", &format!("factory/extra-{i}-{n}"), "main"],
                    )
                    .unwrap();
                    n += 1;
                }
            })
        })
        .collect();
    for _ in 0..40 {
        let before = refs(&repo).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let after = refs(&repo).unwrap();
        let moved = moved_refs(&before, &after, "refs/heads/w");
        assert!(moved.is_empty(), "{moved:?}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for m in movers {
        m.join().unwrap();
    }
}
