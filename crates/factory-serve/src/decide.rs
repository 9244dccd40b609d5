//! Human decisions on runs the service started: approve and reject, for
//! runs made here and runs a worker made elsewhere (scale-out), which are
//! first brought to this machine: a clone of the remote, with the run's
//! pushed branch.

use crate::Service;
use factory_orchestrator::approve::{self, Approved, DecisionError};
use factory_orchestrator::git::remote;

impl Service {
    /// Approve run `id`'s draft on behalf of `by`: its gates run again here,
    /// on the draft merged with the target as it is now.
    pub async fn approve(&self, id: &str, by: &str) -> Result<Approved, DecisionError> {
        self.adopt(id).await?;
        approve::approve(&self.host, id, by).await
    }

    /// A run a worker made: work on it in this service's clone of its
    /// remote from now on.
    async fn adopt(&self, id: &str) -> Result<(), DecisionError> {
        let failed = |e: &dyn std::fmt::Display| DecisionError::Failed(e.to_string());
        if self.scale.is_none() {
            return Ok(());
        }
        let Some(task) = self.queue.by_run(id).map_err(|e| failed(&e))? else {
            return Ok(());
        };
        let (Some(at), Some(run)) = (self.config.repos.get(&task.repo), self.runs.run(id)?) else {
            return Ok(());
        };
        let (cache, url, branch) = (
            self.spec_dir.with_file_name("clones"),
            at.url(),
            run.branch.clone(),
        );
        let clone = tokio::task::spawn_blocking(move || {
            let c = remote::clone_or_fetch(&cache, &url)?;
            remote::fetch_as_branch(&c, &branch)?;
            Ok::<_, factory_orchestrator::git::GitError>(c)
        })
        .await
        .map_err(|e| failed(&e))?
        .map_err(|e| {
            DecisionError::Conflict(format!(
                "the draft's branch {} cannot be fetched from {}: {e}",
                run.branch,
                at.url()
            ))
        })?;
        let here = clone.display().to_string();
        if run.repo != here {
            self.runs.set_repo(id, &here)?;
        }
        Ok(())
    }
}
