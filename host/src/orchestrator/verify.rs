//! The host's own evidence for the tests-pass gate. A tester role's report
//! drives the feedback loop, but the gate never takes its word: the host
//! runs the configured test command itself, in the same sandbox, on the
//! exact commit it is about to deliver, and the gate is that exit status.

use super::{Ctx, RunFailure, config, git};
use crate::caps::exec::{Sandboxed, run_sandboxed, which};
use crate::policy::Access;
use std::path::PathBuf;

/// The host's run of the test command on `tip`.
pub struct Verified {
    pub passed: bool,
    pub evidence: String,
}

impl Ctx {
    pub async fn verify_tests(&self, tip: &str) -> Result<Verified, RunFailure> {
        let fail = |e: git::GitError| RunFailure::Failed(e.to_string());
        if self.cfg.test.command.trim().is_empty() {
            return Ok(Verified {
                passed: false,
                evidence: "no [test] command is configured".into(),
            });
        }
        // The tree is exactly the commit: nothing a role left beside it.
        git::reset_hard(&self.work).map_err(fail)?;
        let head = git::head(&self.work).map_err(fail)?;
        if head != tip {
            return Err(RunFailure::Failed(format!(
                "the integration worktree is at {head}, not at the commit to deliver ({tip})"
            )));
        }
        let scratch = self.dir.join("scratch").join("@verify");
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch)
            .map_err(|e| RunFailure::Failed(format!("cannot create {}: {e}", scratch.display())))?;
        let argv = config::argv(&self.cfg.test.command, &scratch);
        let Some(first) = argv.first() else {
            return Ok(Verified {
                passed: false,
                evidence: "the [test] command is empty".into(),
            });
        };
        let program = if first.contains('/') {
            PathBuf::from(first)
        } else {
            match which(first) {
                Some(p) => p,
                None => {
                    return Ok(Verified {
                        passed: false,
                        evidence: format!("`{first}` is not on the host's PATH"),
                    });
                }
            }
        };
        let ran = run_sandboxed(Sandboxed {
            program,
            args: argv[1..].to_vec(),
            dirs: vec![
                (self.work.clone(), Access::ReadOnly),
                (scratch.clone(), Access::ReadWrite),
            ],
            cwd: self.work.clone(),
            env: Vec::new(),
            stdin: None,
            timeout: self.cfg.test.timeout,
            cap: 1 << 20,
        })
        .await
        .map_err(|e| RunFailure::Failed(format!("the host cannot run the tests: {e}")))?;
        let passed = ran.exit_code == Some(0) && !ran.timed_out;
        let short = &tip[..tip.len().min(12)];
        let evidence = format!(
            "the host ran `{}` on {short}: {}",
            self.cfg.test.command,
            match (ran.exit_code, ran.timed_out) {
                (_, true) => format!("timed out after {:?}", self.cfg.test.timeout),
                (Some(c), _) => format!("exit {c}"),
                (None, _) => "killed by a signal".into(),
            }
        );
        self.host.journal().event(crate::journal::EventRecord {
            run_id: Some(self.run_id.clone()),
            ..crate::journal::EventRecord::new("factory", "verify", evidence.clone())
        });
        Ok(Verified { passed, evidence })
    }
}
