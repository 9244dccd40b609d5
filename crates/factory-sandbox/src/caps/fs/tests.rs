//! What the filesystem capability decides without a guest: which paths are
//! git metadata (the host's, whatever the grant), and the journal entry a
//! refusal makes. The guest-side attacks are in `tests/abuse/fs.rs` and
//! `tests/factory/hostile/git.rs`.

use super::*;
use crate::hooks::MemoryEvents;

#[test]
fn any_git_component_in_any_case_is_git_metadata() {
    for p in [
        ".git",
        ".git/config",
        "sub/.git",
        "sub/.GIT/hooks/pre-commit",
        "a/.Git",
        "./.git",
        "a\\.git\\config",
    ] {
        assert!(touches_git_metadata(p), "{p}");
    }
    for p in [
        ".gitignore",
        ".gitattributes",
        "git/config",
        "a.git",
        ".git2/x",
        "src/.github/x",
    ] {
        assert!(!touches_git_metadata(p), "{p}");
    }
}

#[test]
fn a_refusal_of_git_metadata_is_journaled_as_such_and_grants_nothing() {
    let d = tempfile::tempdir().unwrap();
    let events = Arc::new(MemoryEvents::default());
    let call = CallInfo::for_test(
        "coder",
        crate::trust::TrustLevel::Full,
        &[crate::grants::Grant::Write(d.path().to_path_buf())],
        events.clone(),
    );
    refuse_git(&call, "rename-at", ".git -> dotgit");
    let entries = events.events();
    let Some(record) = entries.first() else {
        panic!("no event recorded")
    };
    assert_eq!(record.kind, "denial");
    assert!(
        record.message.contains("rename-at .git -> dotgit"),
        "{}",
        record.message
    );
    assert!(
        record.message.contains("git metadata"),
        "{}",
        record.message
    );
    assert_eq!(record.remedy, "this is not grantable");
}
