//! Repositories as git remotes, for workers that share no disk with the
//! service: a cache of clones (one per remote URL, fetched before each
//! use), and pushes that move a remote branch only as a compare-and-swap.
//!
//! - Only `file://`, `ssh://` and `https://` URLs are taken. No other
//!   transport (`ext::` runs a command), no local path or option in
//!   disguise (`-u…`), no credentials in the URL.
//! - A run's branch (`factory/ID`) is pushed once: a second push of the
//!   same commit is a no-op, of another commit a refusal.
//! - The target branch moves only from the commit the gates saw to the
//!   delivered one (`--force-with-lease`): if anyone else moved it, the
//!   push is refused and the caller re-checks or falls back to a draft.

use super::{GitError, command, error, output};
use std::path::{Path, PathBuf};

/// A remote URL factory accepts, or why not.
pub fn check_url(url: &str) -> Result<(), String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!(
            "`{url}` is not a git remote URL: use file://, ssh:// or https://"
        ));
    };
    if !matches!(scheme, "file" | "ssh" | "https") {
        return Err(format!(
            "`{scheme}://` remotes are not taken: use file://, ssh:// or https://"
        ));
    }
    if rest.is_empty() || url.chars().any(|c| c.is_control() || c == ' ') {
        return Err(format!("`{url}` is not a git remote URL"));
    }
    if scheme == "https" && rest.split('/').next().is_some_and(|a| a.contains('@')) {
        return Err(
            "credentials in an https:// URL would be stored with every clone; use a credential helper or ssh://"
                .into(),
        );
    }
    Ok(())
}

/// The directory in `cache` for `url`: its readable tail and a hash.
fn slot(cache: &Path, url: &str) -> PathBuf {
    use sha2::Digest;
    let digest = hex::encode(&sha2::Sha256::digest(url.as_bytes())[..8]);
    let tail: String = url
        .rsplit('/')
        .next()
        .unwrap_or("repo")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || *c == '.')
        .take(40)
        .collect();
    cache.join(format!("{}-{digest}", tail.trim_start_matches('.')))
}

/// git in `dir` (a clone this module made), with the host's settings.
/// A fetch or push is noted as the host's own move, so a concurrent run's
/// ref check on the clone does not take it for a step's.
fn in_clone(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    super::run_noted(&dir.join(".git"), dir, args)
}

/// A clone of `url` under `cache`, fetched now: its directory. The clone
/// is a normal checkout, opened by the caller with [`super::open_repo`]
/// and worked on in worktrees; `origin` is `url`.
pub fn clone_or_fetch(cache: &Path, url: &str) -> Result<PathBuf, GitError> {
    check_url(url).map_err(|e| error(&["clone"], e))?;
    std::fs::create_dir_all(cache).map_err(|e| {
        error(
            &["clone"],
            format!("cannot create {}: {e}", cache.display()),
        )
    })?;
    let dir = slot(cache, url);
    // One process at a time per clone.
    let lock_path = dir.with_extension("lock");
    let lock = std::fs::File::create(&lock_path)
        .map_err(|e| error(&["clone"], format!("{}: {e}", lock_path.display())))?;
    lock.lock()
        .map_err(|e| error(&["clone"], format!("{}: {e}", lock_path.display())))?;
    if dir.join(".git").is_dir() {
        in_clone(
            &dir,
            &[
                "fetch",
                "-q",
                "--prune",
                "origin",
                "+refs/heads/*:refs/remotes/origin/*",
            ],
        )?;
    } else {
        let _ = std::fs::remove_dir_all(&dir);
        let mut c = command();
        c.current_dir(cache);
        // `--` ends the options: the URL is never read as one.
        output(
            c,
            &[
                "clone",
                "-q",
                "--no-local",
                "--",
                url,
                &dir.display().to_string(),
            ],
        )?;
        // The clone's own checkout is never worked in (runs use worktrees):
        // detached, so that no branch is checked out there; and marked, so
        // that delivery pushes to the remote (see [`is_clone`]).
        in_clone(&dir, &["checkout", "-q", "--detach"])?;
        in_clone(&dir, &["config", MARK, "origin"])?;
    }
    Ok(dir)
}

/// The git setting that marks a clone made by [`clone_or_fetch`].
const MARK: &str = "factory.remote";

/// Whether `repo` is a clone [`clone_or_fetch`] made: delivery then pushes
/// to its remote rather than only moving the local branch.
pub fn is_clone(repo: &Path) -> bool {
    repo.join(".git").is_dir()
        && in_clone(repo, &["config", "--get", MARK]).is_ok_and(|v| v.trim() == "origin")
}

/// Fetch the remote's `branch` now; where it is (None: not there).
pub fn fetch_branch(clone: &Path, branch: &str) -> Result<Option<String>, GitError> {
    let spec = format!("+refs/heads/{branch}:refs/remotes/origin/{branch}");
    match in_clone(clone, &["fetch", "-q", "origin", &spec]) {
        Ok(_) => remote_tip(clone, branch).map(Some),
        Err(_) if remote_now(clone, branch)?.is_none() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Fetch the remote's `branch` into the local branch of that name (a run's
/// draft, to decide on it here); the commit.
pub fn fetch_as_branch(clone: &Path, branch: &str) -> Result<String, GitError> {
    // Fetched before (a draft is pushed once, so it is the same commit;
    // and its worktree may have it checked out).
    if let Ok(c) = in_clone(
        clone,
        &[
            "rev-parse",
            "--verify",
            "-q",
            &format!("refs/heads/{branch}"),
        ],
    ) {
        return Ok(c.trim().to_string());
    }
    let spec = format!("+refs/heads/{branch}:refs/heads/{branch}");
    in_clone(clone, &["fetch", "-q", "origin", &spec])?;
    Ok(
        in_clone(clone, &["rev-parse", &format!("refs/heads/{branch}")])?
            .trim()
            .to_string(),
    )
}

/// The commit in `tip`'s history that `run_id` made, if any (its
/// `Factory-Run` trailer): that run was delivered there already.
pub fn run_commit_in(clone: &Path, tip: &str, run_id: &str) -> Result<Option<String>, GitError> {
    let grep = format!("--grep=^Factory-Run: {run_id}$");
    let out = in_clone(clone, &["log", "-1", "--format=%H", &grep, tip])?;
    Ok(Some(out.trim().to_string()).filter(|s| !s.is_empty()))
}

/// Where a run's branches are kept on the remote while it runs, for the
/// worker that takes it over: outside `refs/heads`, so the run's branch
/// proper is pushed once, at delivery. The run's branch and its subtasks'
/// (`factory/ID`, `factory/ID-…`), and no other run's.
fn checkpoint_specs(run_id: &str, to_remote: bool) -> [String; 2] {
    let one = |tail: &str| {
        let local = format!("refs/heads/factory/{run_id}{tail}");
        let remote = format!("refs/factory-wip/factory/{run_id}{tail}");
        if to_remote {
            format!("+{local}:{remote}")
        } else {
            format!("+{remote}:{local}")
        }
    };
    [one(""), one("-*")]
}

/// Save the run's branches (`factory/ID` and its subtasks') on the remote.
pub fn push_checkpoint(clone: &Path, run_id: &str) -> Result<(), GitError> {
    let [a, b] = checkpoint_specs(run_id, true);
    in_clone(clone, &["push", "-q", "origin", &a, &b]).map(|_| ())
}

/// Take the run's branches as another worker saved them, if it did.
pub fn fetch_checkpoint(clone: &Path, run_id: &str) -> Result<(), GitError> {
    let [a, b] = checkpoint_specs(run_id, false);
    in_clone(clone, &["fetch", "-q", "origin", &a, &b]).map(|_| ())
}

/// Whether `name` (a full ref, `…/factory/NAME`) is run `run_id`'s.
pub fn is_runs_ref(name: &str, run_id: &str) -> bool {
    name.rsplit_once("/factory/").is_some_and(|(_, b)| {
        b == run_id || b.strip_prefix(run_id).is_some_and(|t| t.starts_with('-'))
    })
}

/// Remove the run's saved branches from the remote (the run ended).
pub fn drop_checkpoint(clone: &Path, run_id: &str) -> Result<(), GitError> {
    let pattern = format!("refs/factory-wip/factory/{run_id}*");
    let listed = in_clone(clone, &["ls-remote", "origin", &pattern])?;
    let refs: Vec<String> = listed
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .filter(|(_, r)| is_runs_ref(r, run_id))
        .map(|(_, r)| format!(":{r}"))
        .collect();
    if refs.is_empty() {
        return Ok(());
    }
    let mut args = vec!["push", "-q", "origin"];
    args.extend(refs.iter().map(String::as_str));
    in_clone(clone, &args).map(|_| ())
}

/// The commit `branch` is at on the remote, as last fetched.
pub fn remote_tip(clone: &Path, branch: &str) -> Result<String, GitError> {
    Ok(in_clone(
        clone,
        &[
            "rev-parse",
            &format!("refs/remotes/origin/{branch}^{{commit}}"),
        ],
    )?
    .trim()
    .to_string())
}

/// The remote's default branch (its `HEAD` when cloned).
pub fn default_branch(clone: &Path) -> Result<String, GitError> {
    let head = in_clone(clone, &["symbolic-ref", "-q", "refs/remotes/origin/HEAD"])?;
    head.trim()
        .strip_prefix("refs/remotes/origin/")
        .map(str::to_string)
        .ok_or_else(|| {
            error(
                &["symbolic-ref"],
                "the remote has no default branch; set target_branch in factory.toml",
            )
        })
}

/// What a push did.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    /// The remote branch moved to the commit.
    Moved,
    /// It was there already (a push made before, then a restart).
    Already,
}

/// Where the remote's `branch` is now (asked of the remote, not the
/// last fetch), if it exists.
pub fn remote_now(clone: &Path, branch: &str) -> Result<Option<String>, GitError> {
    let out = in_clone(
        clone,
        &["ls-remote", "origin", &format!("refs/heads/{branch}")],
    )?;
    Ok(out
        .lines()
        .find_map(|l| l.split_once('\t'))
        .filter(|(_, name)| *name == format!("refs/heads/{branch}"))
        .map(|(sha, _)| sha.to_string()))
}

/// Push `commit` to the remote's new `branch`. Already there is
/// [`Pushed::Already`]; the branch at another commit is refused (Err).
pub fn push_new_branch(clone: &Path, branch: &str, commit: &str) -> Result<Pushed, GitError> {
    match remote_now(clone, branch)? {
        Some(tip) if tip == commit => return Ok(Pushed::Already),
        Some(tip) => {
            return Err(error(
                &["push", branch],
                format!("the remote's {branch} is at {tip}, not {commit}; it is not pushed again"),
            ));
        }
        None => {}
    }
    // An empty lease: only if nobody made the branch meanwhile.
    swap(clone, branch, "", commit)
}

/// Move the remote's `target` from `expected` (what the gates saw) to
/// `commit`, which must contain it: a fast-forward, as a compare-and-swap.
/// Refused (Err) if the target moved meanwhile; already there is
/// [`Pushed::Already`]. The clone's own `target` branch moves along.
pub fn push_fast_forward(
    clone: &Path,
    target: &str,
    expected: &str,
    commit: &str,
) -> Result<Pushed, GitError> {
    let args = ["merge-base", "--is-ancestor", expected, commit];
    in_clone(clone, &args).map_err(|_| {
        error(
            &args,
            format!(
                "{commit} does not contain {expected}: not a fast-forward of what the gates saw"
            ),
        )
    })?;
    let pushed = match remote_now(clone, target)? {
        Some(tip) if tip == commit => Pushed::Already,
        Some(tip) if tip == expected => swap(clone, target, expected, commit)?,
        now => {
            return Err(error(
                &["push", target],
                format!(
                    "the remote's {target} moved (it is at {}, the gates saw {expected}); check again or leave a draft",
                    now.as_deref().unwrap_or("nothing")
                ),
            ));
        }
    };
    // The clone's own branch follows (its checkout is detached).
    in_clone(
        clone,
        &["update-ref", &format!("refs/heads/{target}"), commit],
    )?;
    Ok(pushed)
}

/// Move the remote's `branch` from `expected` (empty: absent) to `commit`,
/// or fail if the remote has it elsewhere: a compare-and-swap.
fn swap(clone: &Path, branch: &str, expected: &str, commit: &str) -> Result<Pushed, GitError> {
    let lease = format!("--force-with-lease=refs/heads/{branch}:{expected}");
    let refspec = format!("{commit}:refs/heads/{branch}");
    in_clone(clone, &["push", "-q", &lease, "origin", &refspec])?;
    Ok(Pushed::Moved)
}

#[cfg(test)]
mod tests;
