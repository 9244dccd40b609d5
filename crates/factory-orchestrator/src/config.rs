//! `factory.toml`: how a repository is worked on (roles, pipeline, trust,
//! gates, budgets, model). Every table and key is optional; unknown keys
//! and bad values are errors naming the key. Documented in docs/factory-toml.md.

use crate::models::ModelConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

pub const FILE: &str = "factory.toml";

/// How far a run may take its change (factory.toml's `trust`, `--trust`):
/// a delivery level, not a plugin's [`crate::trust::TrustLevel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reach {
    /// A suggested patch; nothing is merged.
    ReadOnly,
    /// A branch and a pull-request record for a human.
    Draft,
    /// Merged when the gates pass and every changed path is low-risk.
    AutoMerge,
    /// Merged when the gates pass and every change is inside the task's scope.
    Scoped,
    /// As scoped, then deployed.
    Full,
}

impl Reach {
    pub fn name(self) -> &'static str {
        match self {
            Reach::ReadOnly => "read-only",
            Reach::Draft => "draft",
            Reach::AutoMerge => "auto-merge",
            Reach::Scoped => "scoped",
            Reach::Full => "full",
        }
    }
    pub fn parse(s: &str) -> Option<Reach> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }
}

mod duration {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(|e| {
            serde::de::Error::custom(format!("bad duration {s:?}: {e} (e.g. \"90s\", \"10m\")"))
        })
    }
}

fn default_trust() -> Reach {
    Reach::Draft
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// How far a run goes (default: draft).
    #[serde(default = "default_trust")]
    pub trust: Reach,
    /// The branch changes merge into (default: the checked-out branch).
    #[serde(default)]
    pub target_branch: Option<String>,
    #[serde(default)]
    pub model: Option<ModelConfig>,
    #[serde(default)]
    pub roles: Roles,
    #[serde(default)]
    pub pipeline: Pipeline,
    #[serde(default)]
    pub test: TestConfig,
    #[serde(default)]
    pub deploy: Option<DeployConfig>,
    #[serde(default)]
    pub budget: BudgetConfig,
    #[serde(default)]
    pub gates: Gates,
}

impl Default for Config {
    fn default() -> Self {
        toml::from_str("").expect("the empty config is valid")
    }
}

/// Which installed component serves each role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Roles {
    pub architect: String,
    pub coder: String,
    pub tester: String,
    pub reviewer: String,
    pub documenter: String,
    pub deployer: String,
}

impl Roles {
    /// The plugin that serves `kind`.
    pub fn plugin(&self, kind: factory_policy::RoleKind) -> &str {
        use factory_policy::RoleKind as K;
        match kind {
            K::Architect => &self.architect,
            K::Coder => &self.coder,
            K::Tester => &self.tester,
            K::Reviewer => &self.reviewer,
            K::Documenter => &self.documenter,
            K::Deployer => &self.deployer,
        }
    }
}

impl Default for Roles {
    fn default() -> Self {
        Roles {
            architect: "architect".into(),
            coder: "coder".into(),
            tester: "tester".into(),
            reviewer: "reviewer".into(),
            documenter: "documenter".into(),
            deployer: "deployer".into(),
        }
    }
}

/// Where feedback goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeedbackEdge {
    /// Back to the coder, as work.
    Coder,
    /// Stop the run, marked blocked.
    Stop,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Pipeline {
    /// Run the reviewer.
    pub review: bool,
    /// Run the documenter.
    pub docs: bool,
    pub on_test_failure: FeedbackEdge,
    pub on_changes_requested: FeedbackEdge,
    /// Most model turns of one coder or documenter step.
    pub max_turns: u32,
    /// Most subtasks running at once.
    pub parallel: usize,
    /// Time limit of one role step.
    #[serde(with = "duration")]
    pub step_timeout: Duration,
}

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline {
            review: true,
            docs: true,
            on_test_failure: FeedbackEdge::Coder,
            on_changes_requested: FeedbackEdge::Coder,
            max_turns: 30,
            parallel: 4,
            step_timeout: Duration::from_secs(600),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TestConfig {
    /// The test command (split like a shell would, no shell features).
    /// `{scratch}` is a writable directory outside the repository. Empty:
    /// no tests (the tests-pass gate then fails).
    pub command: String,
    /// cargo-test, pytest, unittest or junit; default: detected.
    pub format: Option<String>,
    /// A JUnit XML file the command writes (may use `{scratch}`).
    pub junit: Option<String>,
    #[serde(with = "duration")]
    pub timeout: Duration,
}

impl Default for TestConfig {
    fn default() -> Self {
        TestConfig {
            command: String::new(),
            format: None,
            junit: None,
            timeout: Duration::from_secs(300),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployConfig {
    pub command: String,
    pub health: String,
    #[serde(default)]
    pub rollback: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBudget {
    pub max_tokens: Option<u64>,
    pub max_cost_usd: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BudgetConfig {
    /// Most tries of one feedback loop (code → test, review → code).
    pub max_attempts: u32,
    pub max_tokens: Option<u64>,
    pub max_cost_usd: Option<f64>,
    /// Wall-clock limit of the whole run.
    #[serde(with = "duration")]
    pub max_wall: Duration,
    /// Bytes one role step (with the tools acting for it) may write.
    pub max_step_write_bytes: u64,
    /// Files and directories one step may create (every open that may
    /// create counts).
    pub max_step_files: u64,
    /// The size any one file may reach in a step.
    pub max_file_bytes: u64,
    pub roles: BTreeMap<String, RoleBudget>,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        BudgetConfig {
            max_attempts: 3,
            max_tokens: Some(2_000_000),
            max_cost_usd: Some(10.0),
            max_wall: Duration::from_secs(3600),
            max_step_write_bytes: crate::caps::quota::QuotaLimits::DEFAULT.bytes,
            max_step_files: crate::caps::quota::QuotaLimits::DEFAULT.files,
            max_file_bytes: crate::caps::quota::QuotaLimits::DEFAULT.file_size,
            roles: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Gates {
    /// The tests must pass.
    pub tests_pass: bool,
    /// The reviewer must approve.
    pub review_approved: bool,
    /// Whenever a run may merge (auto-merge and up): as many tests pass
    /// after the change as before it (the host runs the suite on both), and
    /// a change to an existing test file was reviewed with that fact stated.
    pub tests_not_weakened: bool,
    /// Most changed lines (0: no limit).
    pub max_diff_lines: u32,
    /// Most bytes of diff (0: no limit): one huge line counts as what it is.
    pub max_diff_bytes: u64,
    /// Most changed files (0: no limit).
    pub max_changed_files: u32,
    /// Globs no change may touch.
    pub forbidden_paths: Vec<String>,
    /// Globs of low-risk paths: `auto-merge` merges only changes within them.
    pub low_risk_paths: Vec<String>,
}

impl Default for Gates {
    fn default() -> Self {
        Gates {
            tests_pass: true,
            review_approved: true,
            tests_not_weakened: true,
            max_diff_lines: 1000,
            max_diff_bytes: 200_000,
            max_changed_files: 200,
            // CI, ownership and git's own files change what runs and who
            // decides; keys and secrets are never a change to merge.
            forbidden_paths: [
                ".git/**",
                "**/.git/**",
                ".github/**",
                ".gitlab-ci.yml",
                ".gitlab/**",
                ".circleci/**",
                ".ci/**",
                ".buildkite/**",
                ".travis.yml",
                "azure-pipelines.yml",
                "Jenkinsfile",
                ".pre-commit-config.yaml",
                "**/CODEOWNERS",
                "**/.gitattributes",
                "**/.gitmodules",
                "factory.toml",
                "**/*.pem",
                "**/*.key",
                "**/.env",
            ]
            .map(String::from)
            .to_vec(),
            // Low-risk: no executable or configuration effect. Tests run
            // code (a conftest.py runs on every pytest), `*.txt` includes
            // CMakeLists.txt and requirements.txt, `docs/` holds Sphinx's
            // conf.py: none of them is low-risk.
            low_risk_paths: doc_paths(),
        }
    }
}

/// Prose with no executable or configuration effect: what `auto-merge`
/// treats as low-risk by default, and all the documenter may change.
pub fn doc_paths() -> Vec<String> {
    [
        "**/*.md",
        "**/*.markdown",
        "**/*.rst",
        "**/*.adoc",
        "**/CHANGELOG",
        "**/CHANGES",
        "**/NEWS",
        "**/HISTORY",
    ]
    .map(String::from)
    .to_vec()
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

impl Config {
    /// `factory.toml` in `repo`, or the defaults if there is none.
    pub fn load(repo: &Path) -> Result<Config, ConfigError> {
        let path = repo.join(FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(ConfigError::Read(path.display().to_string(), e)),
        }
    }

    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            file: file.to_string(),
            message,
        };
        let c: Config =
            toml::from_str(text).map_err(|e| invalid(e.to_string().trim_end().to_string()))?;
        let known = [
            "architect",
            "coder",
            "tester",
            "reviewer",
            "documenter",
            "deployer",
        ];
        for k in c.budget.roles.keys() {
            if !known.contains(&k.as_str()) {
                return Err(invalid(format!(
                    "[budget.roles.{k}]: unknown role `{k}`; roles are {}",
                    known.join(", ")
                )));
            }
        }
        if c.budget.max_attempts == 0 {
            return Err(invalid("[budget] max_attempts must be at least 1".into()));
        }
        if c.pipeline.parallel == 0 {
            return Err(invalid("[pipeline] parallel must be at least 1".into()));
        }
        if let Some(f) = &c.test.format
            && !factory_types::report::FORMATS.contains(&f.as_str())
        {
            return Err(invalid(format!(
                "[test] format {f:?} is not one of {:?}",
                factory_types::report::FORMATS
            )));
        }
        if !c.test.command.is_empty() && shlex::split(&c.test.command).is_none_or(|v| v.is_empty())
        {
            return Err(invalid(format!(
                "[test] command {:?} has unbalanced quotes",
                c.test.command
            )));
        }
        if c.trust == Reach::Full && c.deploy.is_none() {
            return Err(invalid("trust = \"full\" deploys, so it needs a [deploy] table with `command` and `health`".into()));
        }
        Ok(c)
    }
}

/// Split a configured command; `{scratch}` is replaced.
pub fn argv(command: &str, scratch: &Path) -> Vec<String> {
    shlex::split(command)
        .unwrap_or_default()
        .into_iter()
        .map(|a| a.replace("{scratch}", &scratch.display().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors() {
        let c = Config::parse("", "f").unwrap();
        assert_eq!(c.trust, Reach::Draft);
        assert_eq!(c.roles.coder, "coder");
        let e = Config::parse("trust = \"sideways\"", "factory.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("factory.toml") && e.contains("sideways") && e.contains("read-only"),
            "{e}"
        );
        let e = Config::parse("[pipeline]\nreveiw = false", "f")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `reveiw`"), "{e}");
        let e = Config::parse("[budget.roles.hacker]\nmax_tokens = 1", "f")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown role `hacker`"), "{e}");
        let e = Config::parse("[test]\ntimeout = \"soon\"", "f")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad duration"), "{e}");
        let e = Config::parse("trust = \"full\"", "f")
            .unwrap_err()
            .to_string();
        assert!(e.contains("[deploy]"), "{e}");
        let c = Config::parse("trust = \"auto-merge\"\n[model]\nprovider = \"replay\"\nname = \"m\"\nreplay = \"s.jsonl\"\n[test]\ncommand = \"python3 -m pytest --junitxml={scratch}/j.xml\"", "f").unwrap();
        assert_eq!(
            argv(&c.test.command, Path::new("/s"))[3],
            "--junitxml=/s/j.xml"
        );
    }

    #[test]
    fn low_risk_means_no_executable_or_configuration_effect() {
        let g = Gates::default();
        let low = |p: &str| factory_types::glob::any(&g.low_risk_paths, p);
        let forbidden = |p: &str| factory_types::glob::any(&g.forbidden_paths, p);
        for p in [
            "README.md",
            "docs/guide.md",
            "CHANGELOG",
            "docs/api.rst",
            "sub/NEWS",
        ] {
            assert!(low(p), "{p} is prose");
        }
        for p in [
            "CMakeLists.txt",
            "requirements.txt",
            "tests/conftest.py",
            "tests/test_x.py",
            "docs/conf.py",
            "test_calc.py",
            "CHANGELOG.py",
            "Makefile",
        ] {
            assert!(!low(p), "{p} runs or configures something");
        }
        for p in [
            ".github/workflows/ci.yml",
            ".github/CODEOWNERS",
            "CODEOWNERS",
            "docs/CODEOWNERS",
            ".ci/run",
            ".gitattributes",
            "sub/.gitattributes",
            ".gitmodules",
            ".gitlab-ci.yml",
            "vendor/x/.git/config",
            "factory.toml",
        ] {
            assert!(forbidden(p), "{p} is forbidden");
        }
        assert!(!forbidden("src/lib.rs") && !forbidden("README.md"));
    }
}
