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
    /// The tests that passed, as the configured format's parser counts
    /// them (None: the output could not be read).
    pub passing: Option<u32>,
    /// The names of the tests that passed, where the output lists them.
    pub passing_names: Vec<String>,
}

/// Test files by the usual conventions of the languages factory runs.
pub fn test_files() -> Vec<String> {
    TEST_FILES.iter().map(|s| s.to_string()).collect()
}

const TEST_FILES: &[&str] = &[
    "**/test_*.py",
    "**/*_test.py",
    "**/conftest.py",
    "**/tests/**",
    "**/test/**",
    "**/spec/**",
    "**/*_test.go",
    "**/*.test.js",
    "**/*.test.ts",
    "**/*.spec.js",
    "**/*.spec.ts",
    "**/*Test.java",
    "**/*Tests.java",
];

impl Ctx {
    pub async fn verify_tests(&self, tip: &str) -> Result<Verified, RunFailure> {
        let fail = |e: git::GitError| RunFailure::Failed(e.to_string());
        // The tree is exactly the commit: nothing a role left beside it.
        git::reset_hard(&self.work).map_err(fail)?;
        let head = git::head(&self.work).map_err(fail)?;
        if head != tip {
            return Err(RunFailure::Failed(format!(
                "the integration worktree is at {head}, not at the commit to deliver ({tip})"
            )));
        }
        self.run_tests_in(&self.work.clone(), tip, "@verify").await
    }

    /// The test command on the run's base, in a worktree of its own: what
    /// passed before the run.
    pub async fn verify_base(&self) -> Result<Verified, RunFailure> {
        let fail = |e: git::GitError| RunFailure::Failed(e.to_string());
        let dir = self.dir.join("base");
        let branch = format!("{}-@base", self.branch);
        git::worktree_add(&self.repo, &dir, &branch, &self.base).map_err(fail)?;
        let v = self.run_tests_in(&dir, &self.base.clone(), "@base").await;
        git::worktree_remove(&self.repo, &dir);
        let _ = git::git(&self.repo, &["branch", "-D", &branch]);
        v
    }

    async fn run_tests_in(
        &self,
        tree: &std::path::Path,
        commit: &str,
        label: &str,
    ) -> Result<Verified, RunFailure> {
        if self.cfg.test.command.trim().is_empty() {
            return Ok(Verified {
                passed: false,
                evidence: "no [test] command is configured".into(),
                passing: None,
                passing_names: Vec::new(),
            });
        }
        let tip = commit;
        let scratch = self.dir.join("scratch").join(label);
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch)
            .map_err(|e| RunFailure::Failed(format!("cannot create {}: {e}", scratch.display())))?;
        let argv = config::argv(&self.cfg.test.command, &scratch);
        let Some(first) = argv.first() else {
            return Ok(Verified {
                passed: false,
                evidence: "the [test] command is empty".into(),
                passing: None,
                passing_names: Vec::new(),
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
                        passing: None,
                        passing_names: Vec::new(),
                    });
                }
            }
        };
        let ran = run_sandboxed(Sandboxed {
            program,
            args: argv[1..].to_vec(),
            dirs: vec![
                (tree.to_path_buf(), Access::ReadOnly),
                (scratch.clone(), Access::ReadWrite),
            ],
            cwd: tree.to_path_buf(),
            env: Vec::new(),
            stdin: None,
            timeout: self.cfg.test.timeout,
            cap: 1 << 20,
        })
        .await
        .map_err(|e| RunFailure::Failed(format!("the host cannot run the tests: {e}")))?;
        let passed = ran.exit_code == Some(0) && !ran.timed_out;
        let output = format!(
            "{}\n{}",
            String::from_utf8_lossy(&ran.stdout),
            String::from_utf8_lossy(&ran.stderr)
        );
        let report = factory_types::report::parse(&output, self.cfg.test.format.as_deref()).ok();
        let passing = report.as_ref().map(|r| r.passed);
        let passing_names = report.map(|r| r.passed_names).unwrap_or_default();
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
        Ok(Verified {
            passed,
            evidence,
            passing,
            passing_names,
        })
    }
}
