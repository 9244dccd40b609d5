//! Filesystem: only granted directories, at their own paths, with their own access.

use super::*;

#[tokio::test]
async fn granted_read_works_positive_control() {
    let (env, ro, rw, _) = fs_env().await;
    let r = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "read", "target": ro.join("file.txt")}),
        )
        .await,
    );
    assert_eq!(r["content"], "readable");
    let w = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "write", "target": rw.join("out.txt")}),
        )
        .await,
    );
    assert_eq!(w["ok"], true);
    assert_eq!(
        std::fs::read_to_string(rw.join("out.txt")).unwrap(),
        "pwned"
    );
}

#[tokio::test]
async fn path_traversal_out_of_a_grant_is_refused_and_journaled() {
    let (env, ro, _, secret) = fs_env().await;
    let target = format!("{}/../secret/key", ro.display());
    let r = ok_json(
        &env.call("attacker", json!({"attack": "read", "target": target}))
            .await,
    );
    assert_eq!(r["ok"], false, "{r}");
    let _ = secret;
    assert!(
        env.denials("attacker")
            .iter()
            .any(|d| d.contains("secret/key")),
        "{:?}",
        env.denials("attacker")
    );
    still_serves(&env).await;
}

#[tokio::test]
async fn absolute_path_outside_grants_is_refused_and_journaled() {
    let (env, _, _, secret) = fs_env().await;
    for target in [
        secret.join("key").display().to_string(),
        "/etc/passwd".to_string(),
    ] {
        let r = ok_json(
            &env.call("attacker", json!({"attack": "read", "target": target}))
                .await,
        );
        assert_eq!(r["ok"], false, "{target}: {r}");
        assert!(r.get("content").is_none());
        let d = env.denials("attacker");
        assert!(
            d.iter()
                .any(|m| m.contains(&format!("open-at {target}")) && m.contains("--read")),
            "{target}: {d:#?}"
        );
    }
    still_serves(&env).await;
}

#[tokio::test]
async fn the_root_outside_grants_is_empty_and_every_use_of_it_is_refused() {
    let (env, _, rw, _) = fs_env().await;
    std::fs::write(rw.join("mine.txt"), "mine").unwrap();
    let attempts = [
        json!({"attack": "list", "target": "/"}),
        json!({"attack": "list", "target": "/etc"}),
        json!({"attack": "read", "target": "relative.txt"}),
        json!({"attack": "write", "target": "/planted"}),
        json!({"attack": "mkdir", "target": "/tmp/planted-dir"}),
        json!({"attack": "rename", "target": rw.join("mine.txt"), "link": "/moved"}),
        json!({"attack": "symlink", "target": rw.join("mine.txt"), "link": "/link"}),
    ];
    for a in attempts {
        let before = env.denials("attacker").len();
        let r = ok_json(&env.call("attacker", a.clone()).await);
        assert_eq!(r["ok"], false, "{a}: {r}");
        assert!(r.get("entries").is_none(), "{r}");
        assert!(env.denials("attacker").len() > before, "{a}: not journaled");
    }
    assert!(!std::path::Path::new("/planted").exists());
    assert!(!std::path::Path::new("/tmp/planted-dir").exists());
    assert_eq!(
        std::fs::read_to_string(rw.join("mine.txt")).unwrap(),
        "mine"
    );
    // The empty directory behind `/` stays empty.
    let empty = env.empty_root.clone();
    assert_eq!(std::fs::read_dir(empty).unwrap().count(), 0);
    still_serves(&env).await;
}

#[tokio::test]
async fn symlink_out_of_a_grant_is_refused() {
    let (env, ro, _, secret) = fs_env().await;
    std::os::unix::fs::symlink(secret.join("key"), ro.join("link")).unwrap();
    let r = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "read", "target": ro.join("link")}),
        )
        .await,
    );
    assert_eq!(r["ok"], false, "{r}");
    assert!(
        env.denials("attacker").iter().any(|d| d.contains("link")),
        "{:?}",
        env.denials("attacker")
    );
    still_serves(&env).await;
}

#[tokio::test]
async fn writing_to_a_read_only_grant_is_refused_and_journaled() {
    let (env, ro, _, _) = fs_env().await;
    let r = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "write", "target": ro.join("new.txt")}),
        )
        .await,
    );
    assert_eq!(r["ok"], false, "{r}");
    assert!(!ro.join("new.txt").exists());
    let d = env.denials("attacker");
    assert!(
        d.iter()
            .any(|m| m.contains("new.txt") && m.contains("--write")),
        "{d:?}"
    );
}

#[tokio::test]
async fn file_handle_exhaustion_is_bounded() {
    let (env, ro, _, _) = fs_env().await;
    let inv = env
        .call(
            "attacker",
            json!({"attack": "fd-exhaustion", "target": ro.join("file.txt")}),
        )
        .await;
    match inv.outcome {
        Outcome::Ok(s) => {
            let v: Value = serde_json::from_str(&s).unwrap();
            assert_eq!(v["ok"], false, "{v}");
            assert!(v["opened"].as_u64().unwrap() < 2048, "{v}");
        }
        Outcome::Limit(LimitKind::Trap, _) => {}
        other => panic!("{other:?}"),
    }
    still_serves(&env).await;
}

#[tokio::test]
async fn writing_creating_removing_or_renaming_outside_a_write_grant_is_refused() {
    let (env, ro, rw, secret) = fs_env().await;
    std::fs::write(rw.join("mine.txt"), "mine").unwrap();
    let attempts = [
        json!({"attack": "write", "target": secret.join("planted")}),
        json!({"attack": "write", "target": format!("{}/../secret/planted", rw.display())}),
        json!({"attack": "mkdir", "target": secret.join("dir")}),
        json!({"attack": "mkdir", "target": ro.join("dir")}),
        json!({"attack": "remove", "target": ro.join("file.txt")}),
        json!({"attack": "remove", "target": secret.join("key")}),
        json!({"attack": "rename", "target": rw.join("mine.txt"), "link": secret.join("moved")}),
        json!({"attack": "rename", "target": ro.join("file.txt"), "link": rw.join("stolen")}),
    ];
    for a in attempts {
        let r = ok_json(&env.call("attacker", a.clone()).await);
        assert_eq!(r["ok"], false, "{a}: {r}");
    }
    assert!(!secret.join("planted").exists());
    assert!(!secret.join("dir").exists() && !ro.join("dir").exists());
    assert!(!secret.join("moved").exists() && !rw.join("stolen").exists());
    assert_eq!(
        std::fs::read_to_string(ro.join("file.txt")).unwrap(),
        "readable"
    );
    assert_eq!(
        std::fs::read_to_string(secret.join("key")).unwrap(),
        "TOP SECRET"
    );
    assert_eq!(
        std::fs::read_to_string(rw.join("mine.txt")).unwrap(),
        "mine"
    );
    let d = env.denials("attacker");
    assert!(d.iter().any(|m| m.contains("file.txt")), "{d:?}");
    still_serves(&env).await;
}

#[tokio::test]
async fn a_symlink_the_guest_plants_cannot_lead_out_of_its_grant() {
    let (env, _, rw, secret) = fs_env().await;
    for (target, link) in [
        (secret.join("key").display().to_string(), rw.join("abs")),
        ("../secret/key".to_string(), rw.join("rel")),
        ("/etc/passwd".to_string(), rw.join("etc")),
    ] {
        let r = ok_json(
            &env.call(
                "attacker",
                json!({"attack": "symlink", "target": target, "link": link}),
            )
            .await,
        );
        assert_eq!(r["ok"], false, "{target}: {r}");
        assert!(r.get("content").is_none(), "{r}");
    }
    still_serves(&env).await;
}

#[tokio::test]
async fn host_special_files_are_invisible() {
    let (env, _, _, _) = fs_env().await;
    for target in [
        "/proc/self/environ",
        "/proc/self/mem",
        "/proc/self/cmdline",
        "/dev/mem",
        "/sys/kernel/notes",
    ] {
        let r = ok_json(
            &env.call("attacker", json!({"attack": "read", "target": target}))
                .await,
        );
        assert_eq!(r["ok"], false, "{target}: {r}");
    }
    still_serves(&env).await;
}

/// Git metadata is the host's: inside a write grant, nothing named `.git`
/// (in any case, at any depth) can be written, created, removed, renamed
/// to or from, or linked to. The worktree's `.git` file stays as the host
/// made it, and every attempt is journaled.
#[tokio::test]
async fn git_metadata_inside_a_write_grant_is_never_writable() {
    let (env, _, rw, _) = fs_env().await;
    std::fs::write(rw.join(".git"), "gitdir: /elsewhere/.git/worktrees/t\n").unwrap();
    std::fs::create_dir(rw.join("sub")).unwrap();
    std::fs::write(rw.join("decoy"), "[core]\n\tfsmonitor = touch /tmp/pwned\n").unwrap();
    let p = |rel: &str| rw.join(rel).display().to_string();
    let attempts = [
        json!({"attack": "write", "target": p(".git")}),
        json!({"attack": "remove", "target": p(".git")}),
        json!({"attack": "mkdir", "target": p("sub/.git")}),
        json!({"attack": "write", "target": p("sub/.git/config")}),
        json!({"attack": "mkdir", "target": p(".GIT")}),
        json!({"attack": "write", "target": p("sub/.Git")}),
        json!({"attack": "rename", "target": p("decoy"), "link": p(".git")}),
        json!({"attack": "rename", "target": p(".git"), "link": p("moved")}),
        json!({"attack": "symlink", "target": ".git", "link": p("link")}),
        json!({"attack": "symlink", "target": "../.git/config", "link": p("sub/cfg")}),
    ];
    for a in attempts {
        let r = ok_json(&env.call("attacker", a.clone()).await);
        assert_eq!(r["ok"], false, "{a}: {r}");
    }
    assert_eq!(
        std::fs::read_to_string(rw.join(".git")).unwrap(),
        "gitdir: /elsewhere/.git/worktrees/t\n"
    );
    for rel in ["sub/.git", ".GIT", "sub/.Git", "moved", "link", "sub/cfg"] {
        assert!(
            std::fs::symlink_metadata(rw.join(rel)).is_err(),
            "{rel} exists"
        );
    }
    assert!(
        std::fs::read_to_string(rw.join("decoy"))
            .unwrap()
            .contains("fsmonitor")
    );
    let d = env.denials("attacker");
    assert!(
        d.iter().filter(|m| m.contains("git metadata")).count() >= 6,
        "{d:#?}"
    );
    // Ordinary writes beside it still work (positive control).
    let r = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "write", "target": p("sub/ok.txt")}),
        )
        .await,
    );
    assert_eq!(r["ok"], true, "{r}");
    still_serves(&env).await;
}
