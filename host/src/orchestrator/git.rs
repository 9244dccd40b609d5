//! The git operations of a run, done by the host (never by a guest) with
//! the `git` command: worktrees, commits, diffs, merges.

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
#[error("git {args}: {message}")]
pub struct GitError {
    pub args: String,
    pub message: String,
}

/// Run git in `dir`; its stdout.
pub fn git(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "factory")
        .env("GIT_AUTHOR_EMAIL", "factory@localhost")
        .env("GIT_COMMITTER_NAME", "factory")
        .env("GIT_COMMITTER_EMAIL", "factory@localhost")
        .output()
        .map_err(|e| GitError {
            args: args.join(" "),
            message: format!("cannot run git: {e}"),
        })?;
    if !out.status.success() {
        return Err(GitError {
            args: args.join(" "),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The repository's top directory, or an error saying it is not one.
pub fn toplevel(path: &Path) -> Result<PathBuf, GitError> {
    Ok(PathBuf::from(
        git(path, &["rev-parse", "--show-toplevel"])?.trim(),
    ))
}

pub fn head(dir: &Path) -> Result<String, GitError> {
    Ok(git(dir, &["rev-parse", "HEAD"])?.trim().to_string())
}

pub fn rev(dir: &Path, name: &str) -> Result<String, GitError> {
    Ok(git(
        dir,
        &["rev-parse", "--verify", &format!("{name}^{{commit}}")],
    )?
    .trim()
    .to_string())
}

/// The checked-out branch, if any.
pub fn current_branch(dir: &Path) -> Option<String> {
    git(dir, &["symbolic-ref", "--short", "-q", "HEAD"])
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// A new worktree at `path` on a new branch `branch` starting at `start`.
/// An existing worktree or branch of that name is replaced.
pub fn worktree_add(repo: &Path, path: &Path, branch: &str, start: &str) -> Result<(), GitError> {
    let _ = git(
        repo,
        &["worktree", "remove", "--force", &path.display().to_string()],
    );
    let _ = std::fs::remove_dir_all(path);
    let _ = git(repo, &["worktree", "prune"]);
    git(
        repo,
        &[
            "worktree",
            "add",
            "-f",
            "-B",
            branch,
            &path.display().to_string(),
            start,
        ],
    )?;
    Ok(())
}

pub fn worktree_remove(repo: &Path, path: &Path) {
    let _ = git(
        repo,
        &["worktree", "remove", "--force", &path.display().to_string()],
    );
}

/// Commit everything in the worktree; None when nothing changed.
pub fn commit_all(dir: &Path, message: &str) -> Result<Option<String>, GitError> {
    git(dir, &["add", "-A"])?;
    if git(dir, &["status", "--porcelain"])?.trim().is_empty() {
        return Ok(None);
    }
    git(dir, &["commit", "-q", "--no-verify", "-m", message])?;
    Ok(Some(head(dir)?))
}

/// Discard uncommitted changes (a crashed step's leftovers).
pub fn reset_hard(dir: &Path) -> Result<(), GitError> {
    git(dir, &["reset", "-q", "--hard"])?;
    git(dir, &["clean", "-q", "-fd"])?;
    Ok(())
}

pub fn diff(dir: &Path, base: &str, tip: &str) -> Result<String, GitError> {
    git(
        dir,
        &[
            "diff",
            "--no-color",
            "--no-ext-diff",
            &format!("{base}..{tip}"),
        ],
    )
}

pub fn changed_files(dir: &Path, base: &str, tip: &str) -> Result<Vec<String>, GitError> {
    Ok(git(
        dir,
        &[
            "diff",
            "--name-only",
            "--no-renames",
            &format!("{base}..{tip}"),
        ],
    )?
    .lines()
    .filter(|l| !l.is_empty())
    .map(str::to_string)
    .collect())
}

/// Lines added plus removed between two commits.
pub fn diff_lines(dir: &Path, base: &str, tip: &str) -> Result<u64, GitError> {
    let out = git(dir, &["diff", "--numstat", &format!("{base}..{tip}")])?;
    Ok(out
        .lines()
        .map(|l| {
            let mut p = l.split('\t');
            let a: u64 = p.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            let d: u64 = p.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            a + d
        })
        .sum())
}

/// Merge `branch` into the worktree's branch. Err(files) on a conflict
/// (the merge is aborted, the worktree left clean).
pub fn merge(
    dir: &Path,
    branch: &str,
    message: &str,
) -> Result<Result<String, Vec<String>>, GitError> {
    match git(
        dir,
        &["merge", "--no-ff", "--no-edit", "-m", message, branch],
    ) {
        Ok(_) => Ok(Ok(head(dir)?)),
        Err(e) => {
            let conflicted: Vec<String> = git(dir, &["diff", "--name-only", "--diff-filter=U"])
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect();
            let _ = git(dir, &["merge", "--abort"]);
            if conflicted.is_empty() {
                Err(e)
            } else {
                Ok(Err(conflicted))
            }
        }
    }
}

pub fn is_ancestor(dir: &Path, a: &str, b: &str) -> bool {
    git(dir, &["merge-base", "--is-ancestor", a, b]).is_ok()
}

/// Whether the worktree has uncommitted changes to tracked files.
pub fn dirty(dir: &Path) -> bool {
    git(dir, &["status", "--porcelain", "--untracked-files=no"])
        .map(|s| !s.trim().is_empty())
        .unwrap_or(true)
}
