//! The git operations of a run, done by the host (never by a guest) with
//! the `git` command: worktrees, commits, diffs, merges.
//!
//! Host git never obeys anything a role or the repository wrote:
//! - it never discovers a repository from the directory it works in: the
//!   git dir of the operator's checkout is found once, when the run opens
//!   it ([`open_repo`]), and a worktree's git dir is the one git recorded
//!   under that repository's `worktrees/` when the host created it. The
//!   worktree's own `.git` file (which its role could replace with a
//!   directory or a `gitdir:` pointer) is never read;
//! - it runs with a configuration the host controls: no system or global
//!   config, `core.fsmonitor` off, hooks off, no external diff, no
//!   attributes file; diffs are `--text --no-textconv`, so a
//!   `.gitattributes` cannot hide a change, and name lists are `-z`, so a
//!   name is never C-quoted past a glob.

pub mod remote;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{LazyLock, Mutex};

#[derive(Debug, thiserror::Error)]
#[error("git {args}: {message}")]
pub struct GitError {
    pub args: String,
    pub message: String,
}

/// Host-side settings on every git command (`-c` wins over the
/// repository's own config).
const HARDENING: &[&str] = &[
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "core.untrackedCache=false",
    "core.attributesFile=/dev/null",
    "core.pager=cat",
    "diff.external=",
    "color.ui=false",
    "gc.auto=0",
    "maintenance.auto=false",
    "advice.detachedHead=false",
];

/// The git dir of each directory the host works in: the operator's
/// checkouts (opened with [`open_repo`]) and the worktrees it created.
static GIT_DIRS: LazyLock<Mutex<HashMap<PathBuf, PathBuf>>> = LazyLock::new(Default::default);
/// The common git dirs of the opened repositories (where `worktrees/` is).
static COMMON_DIRS: LazyLock<Mutex<Vec<PathBuf>>> = LazyLock::new(Default::default);

fn error(args: &[&str], message: impl Into<String>) -> GitError {
    GitError {
        args: args.join(" "),
        message: message.into(),
    }
}

/// git with the host's environment: no inherited `GIT_*` variable, no
/// system or global config, no prompts, the factory's identity.
fn command() -> Command {
    let mut c = Command::new("git");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("GIT_") {
            c.env_remove(k);
        }
    }
    c.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_ATTR_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "factory")
        .env("GIT_AUTHOR_EMAIL", "factory@localhost")
        .env("GIT_COMMITTER_NAME", "factory")
        .env("GIT_COMMITTER_EMAIL", "factory@localhost");
    for h in HARDENING {
        c.arg("-c").arg(h);
    }
    c
}

fn output(mut c: Command, args: &[&str]) -> Result<String, GitError> {
    let out = c
        .args(args)
        .output()
        .map_err(|e| error(args, format!("cannot run git: {e}")))?;
    if !out.status.success() {
        return Err(error(args, String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The git dir the host recorded for `dir`: an opened repository, or a
/// worktree whose administrative directory (under an opened repository's
/// `worktrees/`) names `dir/.git` as its worktree.
fn git_dir_of(dir: &Path) -> Option<PathBuf> {
    let key = std::path::absolute(dir).ok()?;
    let mut known = GIT_DIRS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(g) = known.get(&key) {
        return Some(g.clone());
    }
    let want = key.join(".git");
    let commons = COMMON_DIRS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    for common in commons {
        let Ok(rd) = std::fs::read_dir(common.join("worktrees")) else {
            continue;
        };
        for admin in rd.flatten() {
            let Ok(gitdir) = std::fs::read_to_string(admin.path().join("gitdir")) else {
                continue;
            };
            if Path::new(gitdir.trim()) == want {
                known.insert(key, admin.path());
                return Some(admin.path());
            }
        }
    }
    None
}

/// Run git on `dir` (an opened repository or a worktree the host made);
/// its stdout.
pub fn git(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    let git_dir = git_dir_of(dir).ok_or_else(|| {
        error(
            args,
            format!(
                "{} is not a repository opened by this run nor a worktree it created; \
                 the host does not let git discover repositories from files a role could write",
                dir.display()
            ),
        )
    })?;
    run_noted(&git_dir, dir, args)
}

/// git with `git_dir` on `dir`; a command that may move refs has its moves
/// noted as the host's own.
pub(super) fn run_noted(git_dir: &Path, dir: &Path, args: &[&str]) -> Result<String, GitError> {
    let git_dir = git_dir.to_path_buf();
    let mutating = args.first().is_some_and(|a| MOVES_REFS.contains(a));
    // While a command that may move refs runs (and until its moves are
    // noted), no step's ref check reads the refs: see [`refs`].
    let _noting = mutating.then(|| HOST_GIT.read().unwrap_or_else(|p| p.into_inner()));
    let before = mutating.then(|| snapshot(&git_dir, dir)).flatten();
    let mut c = command();
    c.arg("--git-dir").arg(&git_dir).arg("--work-tree").arg(dir);
    c.current_dir(dir);
    let out = output(c, args);
    if let (Some(before), true) = (before, out.is_ok())
        && let Some(after) = snapshot(&git_dir, dir)
    {
        host_moved(&before, &after);
    }
    out
}

/// Subcommands that may move refs: the host notes what each of its own
/// moved, so that a step of one run is not taken for an attack because
/// another run (in this process) committed, branched or delivered.
const MOVES_REFS: &[&str] = &[
    "commit",
    "merge",
    "reset",
    "branch",
    "update-ref",
    "worktree",
    "cherry-pick",
    "checkout",
    "switch",
    "rebase",
    "tag",
    "fetch",
    "pull",
    "revert",
    "am",
    // A push updates the remote-tracking ref.
    "push",
];

/// Held shared by each of the host's git commands that may move refs, from
/// before it runs until its moves are noted; held alone by [`refs`], so a
/// step's ref check never sees another run's move before it is noted.
static HOST_GIT: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// `(ref, value)` pairs the host itself produced (`(none)` for a delete).
static HOST_MOVES: std::sync::Mutex<std::collections::BTreeSet<(String, String)>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

const NONE: &str = "(none)";

fn snapshot(git_dir: &Path, dir: &Path) -> Option<std::collections::BTreeMap<String, String>> {
    let mut c = command();
    c.arg("--git-dir").arg(git_dir).arg("--work-tree").arg(dir);
    c.current_dir(dir);
    output(c, &FOR_EACH_REF).ok().map(|t| parse_refs(&t))
}

/// Every ref and the object it points at.
const FOR_EACH_REF: [&str; 2] = ["for-each-ref", "--format=%(refname)%00%(objectname)"];

fn parse_refs(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('\0'))
        .map(|(r, o)| (r.to_string(), o.to_string()))
        .collect()
}

fn host_moved(
    before: &std::collections::BTreeMap<String, String>,
    after: &std::collections::BTreeMap<String, String>,
) {
    let mut moves = HOST_MOVES.lock().unwrap_or_else(|p| p.into_inner());
    for (name, value) in after {
        if before.get(name) != Some(value) {
            moves.insert((name.clone(), value.clone()));
        }
    }
    for name in before.keys().filter(|n| !after.contains_key(*n)) {
        moves.insert((name.clone(), NONE.to_string()));
    }
}

fn made_by_host(name: &str, value: Option<&String>) -> bool {
    let value = value.map_or(NONE, |v| v.as_str());
    HOST_MOVES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains(&(name.to_string(), value.to_string()))
}

/// Open the operator's checkout at (or above) `path`: its top directory.
/// The only place the host lets git find a repository by itself.
pub fn open_repo(path: &Path) -> Result<PathBuf, GitError> {
    let args = [
        "rev-parse",
        "--path-format=absolute",
        "--show-toplevel",
        "--absolute-git-dir",
        "--git-common-dir",
    ];
    let mut c = command();
    c.arg("-C").arg(path);
    let out = output(c, &args)?;
    let mut lines = out.lines();
    let (Some(top), Some(git_dir), Some(common)) = (lines.next(), lines.next(), lines.next())
    else {
        return Err(error(&args, format!("unexpected answer: {out}")));
    };
    let top = PathBuf::from(top);
    GIT_DIRS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(top.clone(), PathBuf::from(git_dir));
    let mut commons = COMMON_DIRS.lock().unwrap_or_else(|p| p.into_inner());
    if !commons.iter().any(|c| c == Path::new(common)) {
        commons.push(PathBuf::from(common));
    }
    Ok(top)
}

/// Make `dir` a new repository on branch `branch` and open it.
pub fn init_repo(dir: &Path, branch: &str) -> Result<PathBuf, GitError> {
    let mut c = command();
    c.arg("-C").arg(dir);
    output(c, &["init", "-q", "-b", branch])?;
    open_repo(dir)
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
    let _lock = worktree_lock(repo, "worktree add")?;
    forget(path);
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
    // Its git dir is the administrative directory git just made for it.
    git_dir_of(path).ok_or_else(|| {
        error(
            &["worktree", "add"],
            format!("git recorded no worktree at {}", path.display()),
        )
    })?;
    Ok(())
}

/// Held while worktrees of `repo` are added, removed or pruned: git's
/// `worktree prune` removes an administrative directory another `worktree
/// add` is still writing (parallel subtasks, or two runs on one
/// repository). An exclusive `flock` on the repository's git dir, so it
/// holds across threads and processes and leaves no file behind.
fn worktree_lock(repo: &Path, what: &str) -> Result<std::fs::File, GitError> {
    let dir = git_dir_of(repo).ok_or_else(|| {
        error(
            &[what],
            format!("{} is not a repository opened by this run", repo.display()),
        )
    })?;
    let f = std::fs::File::open(&dir)
        .map_err(|e| error(&[what], format!("cannot open {}: {e}", dir.display())))?;
    f.lock()
        .map_err(|e| error(&[what], format!("cannot lock {}: {e}", dir.display())))?;
    Ok(f)
}

/// Drop what the host recorded for a worktree that is gone or redone.
fn forget(path: &Path) {
    if let Ok(key) = std::path::absolute(path) {
        GIT_DIRS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
    }
}

pub fn worktree_remove(repo: &Path, path: &Path) {
    let _lock = worktree_lock(repo, "worktree remove");
    let _ = git(
        repo,
        &["worktree", "remove", "--force", &path.display().to_string()],
    );
    forget(path);
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

/// How the host diffs: every file as text, whatever `.gitattributes` says,
/// with no external diff or textconv program.
const DIFF: [&str; 5] = [
    "diff",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--text",
];

pub fn diff(dir: &Path, base: &str, tip: &str) -> Result<String, GitError> {
    let range = format!("{base}..{tip}");
    git(dir, &[&DIFF[..], &[range.as_str()]].concat())
}

/// The paths changed between two commits, exactly as named (`-z`: no
/// C-quoting of unusual names).
pub fn changed_files(dir: &Path, base: &str, tip: &str) -> Result<Vec<String>, GitError> {
    changed_names(dir, base, tip, None)
}

/// The paths that existed at `base` and were changed or removed by `tip`
/// (no renames: a moved file counts as removed).
pub fn modified_or_deleted(dir: &Path, base: &str, tip: &str) -> Result<Vec<String>, GitError> {
    changed_names(dir, base, tip, Some("--diff-filter=MDT"))
}

fn changed_names(
    dir: &Path,
    base: &str,
    tip: &str,
    filter: Option<&str>,
) -> Result<Vec<String>, GitError> {
    let range = format!("{base}..{tip}");
    let mut args = vec!["diff", "-z", "--name-only", "--no-renames"];
    args.extend(filter);
    args.push(&range);
    Ok(nul_list(&git(dir, &args)?))
}

fn nul_list(out: &str) -> Vec<String> {
    out.split('\0')
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Write the `--text` patch between two commits to `file` (git writes it;
/// the host never holds it whole) and count it: (bytes, lines added plus
/// removed). The lines are counted in the patch: `--numstat` reports a file
/// marked `binary` or `-diff` as `-`, whatever its size.
pub fn write_diff(dir: &Path, base: &str, tip: &str, file: &Path) -> Result<(u64, u64), GitError> {
    let out = format!("--output={}", file.display());
    let range = format!("{base}..{tip}");
    git(dir, &[&DIFF[..], &[out.as_str(), range.as_str()]].concat())?;
    let counted = (|| -> std::io::Result<(u64, u64)> {
        use std::io::BufRead;
        let f = std::fs::File::open(file)?;
        let bytes = f.metadata()?.len();
        let mut reader = std::io::BufReader::new(f);
        let (mut in_hunk, mut n) = (false, 0u64);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line)? > 0 {
            if line.starts_with(b"diff --git ") {
                in_hunk = false;
            } else if line.starts_with(b"@@") {
                in_hunk = true;
            } else if in_hunk && (line.starts_with(b"+") || line.starts_with(b"-")) {
                n += 1;
            }
            line.clear();
        }
        Ok((bytes, n))
    })();
    counted.map_err(|e| {
        error(
            &["diff", "--output"],
            format!("cannot read {}: {e}", file.display()),
        )
    })
}

/// Every ref of the repository and where it points, with `HEAD`: to see
/// that a step moved nothing it should not have.
pub fn refs(repo: &Path) -> Result<std::collections::BTreeMap<String, String>, GitError> {
    let _quiet = HOST_GIT.write().unwrap_or_else(|p| p.into_inner());
    let mut refs = parse_refs(&git(repo, &FOR_EACH_REF)?);
    let head = git(repo, &["symbolic-ref", "-q", "HEAD"])
        .or_else(|_| git(repo, &["rev-parse", "HEAD"]))
        .unwrap_or_default();
    refs.insert("HEAD".into(), head.trim().to_string());
    Ok(refs)
}

/// The refs that differ between two snapshots, outside the branches
/// under `own` (a run's `refs/heads/factory/ID`) and not to a value the
/// host's own git produced (another run's commit or delivery), as
/// `ref: old -> new`.
pub fn moved_refs(
    before: &std::collections::BTreeMap<String, String>,
    after: &std::collections::BTreeMap<String, String>,
    own: &str,
) -> Vec<String> {
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| !(n.starts_with(own)))
        .filter(|n| before.get(*n) != after.get(*n))
        .filter(|n| !made_by_host(n, after.get(*n)))
        .map(|n| {
            let show = |v: Option<&String>| v.map_or("(none)".to_string(), |s| s.clone());
            format!("{n}: {} -> {}", show(before.get(n)), show(after.get(n)))
        })
        .collect()
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
            let conflicted = nul_list(
                &git(dir, &["diff", "-z", "--name-only", "--diff-filter=U"]).unwrap_or_default(),
            );
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

#[cfg(test)]
mod tests;
