//! Bringing a change into its target branch, one delivery per target
//! branch at a time.

use super::super::{Ctx, git};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

type Locks = Mutex<HashMap<(PathBuf, String), Arc<tokio::sync::Mutex<()>>>>;
static TARGETS: LazyLock<Locks> = LazyLock::new(Default::default);

/// Held while a change is checked against and merged into `target` of
/// `repo`: deliveries to one branch go one at a time in this process (a
/// merge by anyone else is caught by the compare-and-swap of the ref).
pub async fn lock_target(repo: &Path, target: &str) -> tokio::sync::OwnedMutexGuard<()> {
    let key = (
        repo.canonicalize().unwrap_or_else(|_| repo.to_path_buf()),
        target.to_string(),
    );
    let m = TARGETS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(key)
        .or_default()
        .clone();
    m.lock_owned().await
}

/// The run's `tip` with the target's `target_tip` in it: `tip` itself if
/// it already contains it, else a merge of the target into the run branch
/// (in the integration worktree). Ok(Err(why)) on a conflict.
pub fn up_to(
    ctx: &Ctx,
    target_tip: &str,
    tip: &str,
) -> Result<Result<String, String>, git::GitError> {
    if git::is_ancestor(&ctx.work, target_tip, tip) {
        return Ok(Ok(tip.to_string()));
    }
    Ok(git::merge(
        &ctx.work,
        target_tip,
        &ctx.with_trailer(format!("merge {} into {}", ctx.target, ctx.branch)),
    )?
    .map_err(|files| {
        format!(
            "{} moved and conflicts with the change in {}",
            ctx.target,
            files.join(", ")
        )
    }))
}

/// Bring the target branch up to the run's tip: a fast-forward, after
/// merging the target into the run branch if it moved. Ok(Err(why)) when
/// it cannot be done safely (a conflict, a dirty checkout).
pub fn into_target(ctx: &Ctx, tip: &str) -> Result<Result<String, String>, git::GitError> {
    let target_tip = git::rev(&ctx.repo, &ctx.target)?;
    let tip = match up_to(ctx, &target_tip, tip)? {
        Ok(t) => t,
        Err(why) => return Ok(Err(why)),
    };
    if git::current_branch(&ctx.repo).as_deref() == Some(ctx.target.as_str()) {
        if git::dirty(&ctx.repo) {
            return Ok(Err(format!(
                "{} is checked out with uncommitted changes",
                ctx.target
            )));
        }
        git::git(&ctx.repo, &["merge", "--ff-only", "-q", &tip])?;
    } else {
        git::git(
            &ctx.repo,
            &[
                "update-ref",
                &format!("refs/heads/{}", ctx.target),
                &tip,
                &target_tip,
            ],
        )?;
    }
    Ok(Ok(tip))
}
